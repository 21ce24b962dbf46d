// Browser-safe entry (`@idra/core/health`): nothing here may import Node-only code.
export * from './health.ts';
export { slotWaitText, type SlotWait } from '../runner/status.ts';
export * from './overview-query.ts';
