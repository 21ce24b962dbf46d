import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeAtExit } from './internal/cleanup.ts';

/** Creates a fresh directory under os.tmpdir(); the caller removes it, or it is removed at process exit. */
export async function tempDir(prefix = 'idra-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  // Traversable (not listable) by others, so a server that runs under its own account (postgres,
  // when we are root) can use a data dir placed inside.
  await chmod(dir, 0o711);
  removeAtExit(dir);
  return dir;
}
