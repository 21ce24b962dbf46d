import { enableCompileCache } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Turns on Node's compile cache for this process: the TypeScript Node strips and the code V8 compiles
 * are kept between runs, so the next start skips both (the agent's start: 0.49 → 0.32 s; `idra --help`:
 * 0.25 → 0.08 s of CPU). Call it before the program's modules load (a bin file, then a dynamic import).
 * The cache lives in the user's own cache directory ($XDG_CACHE_HOME, else ~/.cache), not in a shared
 * /tmp another user could have filled first. NODE_COMPILE_CACHE moves it, NODE_DISABLE_COMPILE_CACHE=1
 * turns it off; a directory that cannot be written (a read-only root filesystem) leaves it off, silently.
 */
export function enableIdraCompileCache(): void {
  const env = process.env;
  enableCompileCache(env.NODE_COMPILE_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'idra', 'node-compile-cache'));
}
