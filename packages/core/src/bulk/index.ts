// Browser-safe entry (`@idra/core/bulk`): nothing here may import Node-only code.
export * from './bulk-plan.ts';
