// Browser-safe entry (`@idra/core/health`): nothing here may import Node-only code.
export * from './health.ts';
