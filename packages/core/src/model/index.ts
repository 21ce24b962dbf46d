// The browser-safe face of core (`@idra/core/model`): the sync model, the mode table and positions,
// with no Node module behind them. The web UI imports it by value; keep node-only code out of it.
export * from './connector-kinds.ts';
export * from './defaults.ts';
export * from './modes.ts';
export * from './position.ts';
export * from './schema.ts';
export { parseDuration } from '../duration.ts';
