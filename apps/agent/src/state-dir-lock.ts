import { hostname } from 'node:os';
import { join } from 'node:path';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { IdraError, PRIVATE_FILE_MODE, makePrivateDir } from '@idra/core';

/** Another process holds the state dir: two agents on one dir would both run its syncs and move its offsets back and forth. */
class StateDirInUseError extends IdraError {
  readonly stateDir: string;
  constructor(stateDir: string, holder: string) {
    super(
      'IDRA_ERR_AGENT_STATE_DIR_IN_USE',
      `state dir ${stateDir} is in use by another agent${holder}: two agents on one state dir would both run its syncs; stop that one, or give this one another --state-dir`,
    );
    this.stateDir = stateDir;
  }
}

/** The lock on a state dir, held until `release` or the end of the process. */
export interface StateDirLock {
  release(): void;
}

const LOCK_FILE = 'agent.lock';
const HOLDER_FILE = 'agent.lock.holder';

/**
 * Takes an OS-level lock on `<stateDir>/agent.lock` for the life of the process, or throws
 * StateDirInUseError. Node has no flock(); SQLite's exclusive locking mode takes and keeps a POSIX
 * lock on its file, which the kernel drops when the process ends however it ends (kill -9
 * included), so a crashed agent never leaves a stale lock behind. Who holds it is written beside it,
 * for the message a second agent shows.
 */
export async function lockStateDir(stateDir: string, agentId: string): Promise<StateDirLock> {
  await makePrivateDir(stateDir);
  const db = new Database(join(stateDir, LOCK_FILE), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock, and the locking mode keeps it after the commit.
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS held (at TEXT); DELETE FROM held; INSERT INTO held VALUES (datetime()); COMMIT;');
    await chmod(join(stateDir, LOCK_FILE), PRIVATE_FILE_MODE);
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
    const holder = await readFile(join(stateDir, HOLDER_FILE), 'utf8').then(
      (text) => {
        const h = JSON.parse(text) as { agentId?: string; pid?: number; host?: string; since?: string };
        return ` (${h.agentId ?? '?'}, pid ${h.pid ?? '?'} on ${h.host ?? '?'}, since ${h.since ?? '?'})`;
      },
      () => '',
    );
    throw new StateDirInUseError(stateDir, holder);
  }
  await writeFile(join(stateDir, HOLDER_FILE), JSON.stringify({ agentId, pid: process.pid, host: hostname(), since: new Date().toISOString() }) + '\n', {
    mode: PRIVATE_FILE_MODE,
  });
  return { release: () => db.close() };
}
