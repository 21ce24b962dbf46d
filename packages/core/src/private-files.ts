import { appendFile, chmod, mkdir } from 'node:fs/promises';

/**
 * Single-mode state (offsets, their history, rejected rows with their data, statuses) is for the
 * agent's user only: files 0600, directories 0700, whatever the umask.
 */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Creates a state directory (and its parents) owner-only. An existing one keeps the mode its owner gave it. */
export async function makePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** Appends to a state file, created owner-only; a file an older version left readable by others is tightened. */
export async function appendPrivate(file: string, data: string): Promise<void> {
  await appendFile(file, data, { mode: PRIVATE_FILE_MODE });
  await chmod(file, PRIVATE_FILE_MODE);
}
