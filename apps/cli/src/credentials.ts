import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What `idra login` keeps: the server and a session or API token. */
export interface Credentials {
  url: string;
  token: string;
  user?: string | undefined;
  expiresAt?: string | undefined;
}

/** `$XDG_CONFIG_HOME/idra/credentials.json`, by default `~/.config/idra/credentials.json`. */
function credentialsPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'idra', 'credentials.json');
}

export async function loadCredentials(env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  try {
    return JSON.parse(await readFile(credentialsPath(env), 'utf8')) as Credentials;
  } catch {
    return undefined;
  }
}

/** Writes the file readable by its owner only (0600, in a 0700 directory). */
export async function saveCredentials(env: NodeJS.ProcessEnv, c: Credentials): Promise<string> {
  const file = credentialsPath(env);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode applies only to a new file: tighten an existing one too.
  await chmod(file, 0o600);
  return file;
}

export async function removeCredentials(env: NodeJS.ProcessEnv): Promise<void> {
  await rm(credentialsPath(env), { force: true });
}
