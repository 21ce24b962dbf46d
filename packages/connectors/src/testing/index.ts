// Test support of the connectors (`@idra/connectors/testing`): fixtures on real servers, the contract
// suite every connector runs, the torture scenario the benchmark also runs. Not shipped in images.
export * from './connector-contract.ts';
export * from './compare.ts';
export * from './ddl.ts';
export * from './endpoints.ts';
export * from './fixtures.ts';
export * from './go-idra.ts';
export * from './source-writer.ts';
export * from './torture.ts';
