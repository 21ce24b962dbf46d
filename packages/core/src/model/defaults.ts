/**
 * What a sync config leaves out becomes this: one table for the model, the API schema and the web UI
 * (browser-safe, no import).
 */
export const SYNC_DEFAULTS = {
  // Bounded by batchBytes too: wide rows get fewer per batch, so memory stays bounded. PG->PG, 1M narrow rows:
  // 1,000 moved at 0.16x the COPY pipe, 10,000 at 0.47x, 50,000 at 0.55x (docs/benchmarks.md).
  batchSize: 50_000,
  batchBytes: 8 * 2 ** 20,
  parallelism: 1,
  pollIntervalMs: 5000,
  delayMs: 0,
  watermark: 'transactions',
  onError: 'stop',
  writeMode: 'insert',
  createTable: true,
  schemaChanges: 'evolve',
  maxDeleteFraction: 0.5,
} as const;
