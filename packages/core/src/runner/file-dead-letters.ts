import { join } from 'node:path';
import type { DeadLetter, DeadLetterSink } from './status.ts';
import { appendPrivate, makePrivateDir } from '../private-files.ts';

/** Single-mode dead letters: `<stateDir>/errors/<syncId>.jsonl` (0600: it holds row data), one rejected row per line. */
export class FileDeadLetterSink implements DeadLetterSink {
  readonly file: string;
  private readonly dir: string;
  constructor(stateDir: string, syncId: string) {
    this.dir = join(stateDir, 'errors');
    this.file = join(this.dir, `${syncId}.jsonl`);
  }

  async record(entries: DeadLetter[]): Promise<void> {
    await makePrivateDir(this.dir);
    await appendPrivate(this.file, entries.map((e) => JSON.stringify(e, jsonSafe)).join('\n') + '\n');
  }
}

/** JSON replacer that keeps bigint and bytes readable instead of throwing. */
export function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return { $base64: Buffer.from(value).toString('base64') };
  if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return { $base64: Buffer.from((value as { data: number[] }).data).toString('base64') };
  }
  return value;
}
