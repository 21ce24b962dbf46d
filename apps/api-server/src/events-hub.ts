import { EventEmitter } from 'node:events';
import type { IKeyValue, Namespace, Watcher } from 'etcd3';
import { KEYS, errorMessage, idOf, type Logger } from '@idra/core';
import type { ClusterEvent } from '@idra/api-client';

const WATCHED: Array<{ prefix: string; kind: ClusterEvent['kind'] }> = [
  { prefix: KEYS.statuses, kind: 'status' },
  { prefix: KEYS.assignments, kind: 'assignment' },
  { prefix: KEYS.agents, kind: 'agent' },
];

/** Changes that may end what a stream's credentials allow: a user (by name) or an API token (by id) changed or went away. */
const CREDENTIALS: Array<{ prefix: string; kind: 'user' | 'token' }> = [
  { prefix: KEYS.users, kind: 'user' },
  { prefix: KEYS.tokens, kind: 'token' },
];

/** A user or API token that changed: every stream authenticated by it checks its credentials again. */
export interface CredentialChange {
  kind: 'user' | 'token';
  id: string;
}

/**
 * One set of etcd watches shared by every event-stream client: started with the first subscriber,
 * stopped with the server. (etcd3's watchers resume from their last revision after a disconnect.)
 * Users and tokens are watched too, never sent to clients: their changes let streams re-check access.
 */
export class ClusterEventHub {
  private readonly ns: Namespace;
  private readonly log: Logger;
  private readonly emitter = new EventEmitter();
  private watchers: Promise<Watcher[]> | undefined;

  constructor(ns: Namespace, log: Logger) {
    this.ns = ns;
    this.log = log;
    this.emitter.setMaxListeners(0);
  }

  /** Calls `listener` for every change until the returned function is called. */
  async subscribe(listener: (e: ClusterEvent) => void): Promise<() => void> {
    this.watchers ??= this.start();
    try {
      await this.watchers;
    } catch (err) {
      this.watchers = undefined;
      throw err;
    }
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  private async start(): Promise<Watcher[]> {
    const watchers: Watcher[] = [];
    for (const { prefix, kind } of WATCHED) {
      const w = await this.ns.watch().prefix(prefix).create();
      const emit = (type: ClusterEvent['type']) => (kv: IKeyValue) => {
        const id = idOf(kv.key.toString(), prefix);
        let value: unknown = null;
        if (type === 'put') {
          try {
            value = JSON.parse(kv.value.toString());
          } catch {
            value = kv.value.toString();
          }
        }
        this.emitter.emit('event', { kind, type, id, value, revision: kv.mod_revision } satisfies ClusterEvent);
      };
      w.on('put', emit('put'));
      w.on('delete', emit('delete'));
      watchers.push(this.resuming(w, prefix));
    }
    for (const { prefix, kind } of CREDENTIALS) {
      const w = await this.ns.watch().prefix(prefix).create();
      const changed = (kv: IKeyValue) => this.emitter.emit('credentials', { kind, id: idOf(kv.key.toString(), prefix) } satisfies CredentialChange);
      w.on('put', changed);
      w.on('delete', changed);
      watchers.push(this.resuming(w, prefix));
    }
    return watchers;
  }

  private resuming(w: Watcher, prefix: string): Watcher {
    w.on('error', (err) => this.log.warn({ err: errorMessage(err), prefix }, 'event watch error (it resumes by itself)'));
    return w;
  }

  /** Calls `listener` whenever a user or API token changes, until the returned function is called. */
  onCredentials(listener: (c: CredentialChange) => void): () => void {
    this.emitter.on('credentials', listener);
    return () => this.emitter.off('credentials', listener);
  }

  async close(): Promise<void> {
    this.emitter.emit('close');
    this.emitter.removeAllListeners();
    const watchers = await this.watchers?.catch(() => []);
    for (const w of watchers ?? []) await w.cancel().catch(() => {});
  }

  onClose(listener: () => void): () => void {
    this.emitter.once('close', listener);
    return () => this.emitter.off('close', listener);
  }
}
