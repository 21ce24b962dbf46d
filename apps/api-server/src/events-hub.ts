import { EventEmitter } from 'node:events';
import type { IKeyValue, Namespace, Watcher } from 'etcd3';
import { KEYS, errorMessage, idOf, type Logger } from '@idra/core';
import type { ClusterEvent } from '@idra/api-client';

const WATCHED: Array<{ prefix: string; kind: ClusterEvent['kind'] }> = [
  { prefix: KEYS.statuses, kind: 'status' },
  { prefix: KEYS.assignments, kind: 'assignment' },
  { prefix: KEYS.agents, kind: 'agent' },
];

/**
 * One set of etcd watches shared by every event-stream client: started with the first subscriber,
 * stopped with the server. (etcd3's watchers resume from their last revision after a disconnect.)
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
      w.on('error', (err) => this.log.warn({ err: errorMessage(err), prefix }, 'event watch error (it resumes by itself)'));
      watchers.push(w);
    }
    return watchers;
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
