import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { ConfigError } from '@idra/core';

/** Where SQLite files may be; undefined: anywhere (a library embedded without the agent's or API's policy). */
let roots: string[] | undefined;

/**
 * Confines every SQLite file this process opens to `dirs` (symlinks resolved on both sides). The
 * agent and the API server call it at start: syncs and data sources come from API users, who must
 * not read or create files anywhere on the host. An empty list allows no SQLite file at all; undefined
 * lifts the confinement.
 */
export function confineSqliteFiles(dirs: readonly string[] | undefined): void {
  roots = dirs?.map((d) => resolve(d));
}

/** IDRA_SQLITE_ROOTS as a list of directories (`:` or `,` between them); undefined when unset. */
export function sqliteRootsFrom(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value
    .split(/[:,]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The real path of `path`, or of its deepest existing ancestor with the rest appended (a file to be created). */
async function realOrParent(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : resolve(await realOrParent(parent), basename(path));
  }
}

const inside = (root: string, path: string) => {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** The real path of a SQLite file if it lies under the allowed directories; a ConfigError naming the field otherwise. */
export async function confinedSqliteFile(file: string, field = 'connection.file'): Promise<string> {
  if (roots === undefined || file === ':memory:') return file;
  const real = await realOrParent(resolve(file));
  const allowed = await Promise.all(roots.map(realOrParent));
  if (allowed.some((root) => inside(root, real))) return real;
  const where =
    roots.length > 0 ? `outside the directories SQLite files may be in (${roots.join(', ')})` : 'not allowed: no directory is open to SQLite files here';
  throw new ConfigError([{ path: field, message: `'${file}' is ${where}; an admin sets IDRA_SQLITE_ROOTS on the agents and the API server` }]);
}
