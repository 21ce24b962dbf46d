import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { OffsetStoreError } from '../errors.ts';
import { PRIVATE_FILE_MODE, appendPrivate, makePrivateDir } from '../private-files.ts';
import type { Position } from '../model/position.ts';
import {
  manualCommitContext,
  offsetChange,
  parseOffsetDocument,
  toOffsetDocument,
  type CommitContext,
  type ManualChange,
  type OffsetChange,
  type OffsetDocument,
  type OffsetStore,
} from './offset.ts';

/** Writes `data` to `path` so that a crash leaves either the old or the new file, never a torn one. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w', PRIVATE_FILE_MODE);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  const dir = await open(join(path, '..'), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Single-mode offsets: one JSON file per sync under `<dir>/offsets/`, history as JSON Lines. */
export class FileOffsetStore implements OffsetStore {
  readonly dir: string;
  constructor(stateDir: string) {
    this.dir = join(stateDir, 'offsets');
  }

  private file(syncId: string): string {
    return join(this.dir, `${syncId}.json`);
  }

  async load(syncId: string): Promise<OffsetDocument | undefined> {
    let text: string;
    try {
      text = await readFile(this.file(syncId), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new OffsetStoreError(`cannot read offset of sync ${syncId}`, err);
    }
    return parseOffsetDocument(text, this.file(syncId));
  }

  async commit(syncId: string, position: Position, ctx: CommitContext): Promise<OffsetDocument> {
    const doc = toOffsetDocument(position, ctx);
    try {
      await makePrivateDir(this.dir);
      await writeFileAtomic(this.file(syncId), JSON.stringify(doc) + '\n');
    } catch (err) {
      throw new OffsetStoreError(`cannot write offset of sync ${syncId}`, err);
    }
    return doc;
  }

  async set(syncId: string, position: Position | null, change: ManualChange): Promise<void> {
    const current = await this.load(syncId);
    const entry = offsetChange(current, position, change);
    await makePrivateDir(this.dir);
    await appendPrivate(join(this.dir, `${syncId}.history.jsonl`), JSON.stringify(entry) + '\n');
    if (position) await this.commit(syncId, position, manualCommitContext(current, change));
    else
      await unlink(this.file(syncId)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
  }

  async history(syncId: string): Promise<OffsetChange[]> {
    try {
      const text = await readFile(join(this.dir, `${syncId}.history.jsonl`), 'utf8');
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as OffsetChange);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}
