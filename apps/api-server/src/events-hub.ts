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

/** Changes are sent to streams at most this often, the latest change of each key only: a tab gets a few messages a second whatever the cluster's size. @default 500 */
export const EVENT_FLUSH_MS = 500;

/**
 * One set of etcd watches shared by every event-stream client: started with the first subscriber and
 * cancelled when the last one leaves (an idle API server watches nothing). (etcd3's watchers resume
 * from their last revision after a disconnect.) Changes are coalesced per key and handed to the
 * subscribers in one batch every {@link EVENT_FLUSH_MS}.
 * Users and tokens are watched too, never sent to clients: their changes let streams re-check access.
 */
export class ClusterEventHub {
  private readonly ns: Namespace;
  private readonly log: Logger;
  private readonly flushMs: number;
  private readonly emitter = new EventEmitter();
  private watchers: Promise<Watcher[]> | undefined;
  private subscribers = 0;
  /** Changes not sent yet, the latest per kind and id (in the order their keys first changed). */
  private readonly pending = new Map<string, ClusterEvent>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(ns: Namespace, log: Logger, flushMs = EVENT_FLUSH_MS) {
    this.ns = ns;
    this.log = log;
    this.flushMs = flushMs;
    this.emitter.setMaxListeners(0);
  }

  /** Calls `listener` with each batch of changes until the returned function is called. */
  async subscribe(listener: (batch: ClusterEvent[]) => void): Promise<() => void> {
    this.subscribers++;
    this.watchers ??= this.start();
    try {
      await this.watchers;
    } catch (err) {
      this.release();
      throw err;
    }
    this.emitter.on('batch', listener);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.emitter.off('batch', listener);
      this.release();
    };
  }

  /** One subscriber fewer: the last one takes the watches with it. */
  private release(): void {
    if (--this.subscribers > 0) return;
    const watchers = this.watchers;
    this.watchers = undefined;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pending.clear();
    void watchers?.then(
      (ws) => Promise.all(ws.map((w) => w.cancel().catch(() => {}))),
      () => {},
    );
  }

  private queue(e: ClusterEvent): void {
    const key = `${e.kind}/${e.id}`;
    // Deleted and re-added keys move to the end: the batch keeps the order of their last changes per key.
    this.pending.delete(key);
    this.pending.set(key, e);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      const batch = [...this.pending.values()];
      this.pending.clear();
      this.emitter.emit('batch', batch);
    }, this.flushMs);
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
        this.queue({ kind, type, id, value, revision: kv.mod_revision });
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
    clearTimeout(this.flushTimer);
    const watchers = await this.watchers?.catch(() => []);
    this.watchers = undefined;
    for (const w of watchers ?? []) await w.cancel().catch(() => {});
  }

  onClose(listener: () => void): () => void {
    this.emitter.once('close', listener);
    return () => this.emitter.off('close', listener);
  }
}
