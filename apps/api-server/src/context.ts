import {
  ConfigStore,
  EtcdOffsetStore,
  HistoryStore,
  ActivityStore,
  NotifyStore,
  SecretBox,
  StatusStore,
  connectEtcd,
  type EtcdConnection,
  type EtcdOptions,
  type Logger,
} from '@idra/core';
import { AttemptCounter } from './auth/attempt-counter.ts';
import { ApiTokenStore } from './auth/token-store.ts';
import { UserStore } from './auth/user-store.ts';
import { ConnectionSecrets } from './connection-secrets.ts';
import { ApiMetrics } from './metrics.ts';
import { Audit } from './audit.ts';

/** What every plugin works with: the etcd connection and the stores over it. */
export interface IdraContext {
  etcd: EtcdConnection;
  etcdOptions: EtcdOptions;
  configs: ConfigStore;
  statuses: StatusStore;
  /** Per-minute points and timeline events (the API adds operators' actions; agents the rest). */
  activity: ActivityStore;
  /** Manual offset changes only: this store holds no lock, so it can never commit as an agent. */
  offsets: EtcdOffsetStore;
  users: UserStore;
  tokens: ApiTokenStore;
  /** Rate-limited attempts, counted in etcd so that every API server shares one limit. */
  attempts: AttemptCounter;
  secrets: ConnectionSecrets;
  metrics: ApiMetrics;
  /** Change history of syncs and data sources. */
  history: HistoryStore;
  /** Builds the history entries written with each change. */
  audit: Audit;
  /** Notification channels (sealed) and rules; incidents and deliveries the leader wrote. */
  notify: NotifyStore;
}

export function createContext(etcdOptions: EtcdOptions, secretKey: string | undefined, log: Logger): IdraContext {
  const etcd = connectEtcd(etcdOptions);
  const box = secretKey ? new SecretBox(secretKey) : undefined;
  const ctx = {
    etcd,
    etcdOptions,
    configs: new ConfigStore(etcd.ns, box),
    statuses: new StatusStore(etcd.ns),
    activity: new ActivityStore(etcd.ns),
    offsets: new EtcdOffsetStore(etcd.ns),
    users: new UserStore(etcd.ns),
    tokens: new ApiTokenStore(etcd.ns, log),
    attempts: new AttemptCounter(etcd.ns),
    secrets: new ConnectionSecrets(box),
    metrics: new ApiMetrics(),
    history: new HistoryStore(etcd.ns),
    notify: new NotifyStore(etcd.ns, box),
  } as IdraContext;
  ctx.audit = new Audit(ctx);
  return ctx;
}
