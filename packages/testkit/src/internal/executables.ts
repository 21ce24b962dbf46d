import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

// Daemons live in sbin, which a non-login shell's PATH may lack.
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of the executable `name`, searched in PATH, then `extraDirs`, then the system dirs. */
export function findExecutable(name: string, debianPackage: string, extraDirs: readonly string[] = []): string {
  const pathDirs = (process.env['PATH'] ?? '').split(delimiter).filter((dir) => dir !== '');
  for (const dir of [...pathDirs, ...extraDirs, ...SYSTEM_DIRS]) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next dir
    }
  }
  throw new Error(`${name} not found in PATH or ${[...extraDirs, ...SYSTEM_DIRS].join(', ')}: install the Debian package ${debianPackage}`);
}

/** The bin dirs of Debian's installed PostgreSQL majors, newest first (Debian keeps them off PATH). */
export function postgresBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  let versions: string[];
  try {
    versions = readdirSync(root);
  } catch {
    return [];
  }
  return versions
    .filter((version) => /^\d+$/.test(version))
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(root, version, 'bin'));
}
