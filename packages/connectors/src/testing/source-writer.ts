import { until } from '@idra/testkit';
import type { Row } from '@idra/core';

/** An application writing to a source table, one change after another, until stopped: the syncs and the test's DDL run meanwhile. */
export class SourceWriter {
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly step: () => Promise<void>;
  /** Changes that failed (none expected: a failure means the table was altered under the writer in a way an application would not survive). */
  readonly errors: unknown[] = [];
  writes = 0;

  constructor(step: () => Promise<void>) {
    this.step = step;
  }

  start(): this {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          await this.step();
          this.writes++;
        } catch (err) {
          this.errors.push(err);
        }
        // Other tests share the two cores: a writer leaves room between its changes.
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    return this;
  }

  /** Resolves once `n` more changes have gone through. */
  async more(n: number, timeoutMs = 30_000): Promise<void> {
    const target = this.writes + n;
    await until(`${n} more writes`, () => this.writes >= target, timeoutMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/**
 * Watches a destination for wrong deletes while its source changes: a key the destination had, then
 * lost, while the source still has it. Sound when the source never writes a deleted key again (keys
 * deleted at the source stay gone), which the tests using it hold to.
 */
export class DeleteWatch {
  private seen = new Set<string>();
  readonly wrong: string[] = [];
  checks = 0;

  private readonly destinationKeys: () => Promise<string[]>;
  private readonly sourceKeys: () => Promise<string[]>;

  constructor(destinationKeys: () => Promise<string[]>, sourceKeys: () => Promise<string[]>) {
    this.destinationKeys = destinationKeys;
    this.sourceKeys = sourceKeys;
  }

  /** One look: the destination first, then the source (a key the source still has after the destination lost it was never deleted there). */
  async check(): Promise<void> {
    const now = new Set(await this.destinationKeys().catch(() => [...this.seen]));
    const lost = [...this.seen].filter((k) => !now.has(k));
    if (lost.length > 0) {
      const source = new Set(await this.sourceKeys());
      this.wrong.push(...lost.filter((k) => source.has(k)));
    }
    this.seen = now;
    this.checks++;
  }
}

/** The `id` values of rows, as text. */
export const idsOf = (rows: Row[]): string[] => rows.map((r) => String(r.id));
