/**
 * Bulk paths that write straight into a table while a batch's keys are new (PostgreSQL's COPY,
 * MySQL's LOAD DATA): a batch that met existing keys goes the slower way that handles them, and so
 * do the next ones for a while, since updates tend to come in runs; the direct way is tried again
 * every few batches. Counted per table.
 */
export class DirectWrites {
  private readonly misses = new Map<string, number>();
  private readonly retryEvery: number;

  constructor(retryEvery = 8) {
    this.retryEvery = retryEvery;
  }

  /** Whether the next batch for `table` tries the direct way. */
  due(table: string): boolean {
    return (this.misses.get(table) ?? 0) % this.retryEvery === 0;
  }

  /** The batch went in directly. */
  hit(table: string): void {
    this.misses.set(table, 0);
  }

  /** The batch went the slower way. */
  miss(table: string): void {
    this.misses.set(table, (this.misses.get(table) ?? 0) + 1);
  }
}
