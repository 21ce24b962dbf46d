import { ConfigError } from '@idra/core';
import type { AgentOptions } from './options.ts';
import type { Logger } from '@idra/core';

/** Cluster mode (etcd): see issue 3. */
export async function startClusterMode(_opts: AgentOptions, _log: Logger): Promise<{ stop(timeoutMs: number): Promise<void> }> {
  throw new ConfigError([{ path: '--etcd', message: 'cluster mode is not available in this build yet' }], 'invalid agent options');
}
