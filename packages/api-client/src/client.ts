import type {
  AgentEvent,
  AgentView,
  DataSourceSlotsView,
  ApiErrorBody,
  ApiTokenView,
  AssignmentView,
  ChangeOptions,
  ClusterEvent,
  ClusterHealth,
  ConnectionTestResult,
  ConnectorDescription,
  TableListing,
  CreatedApiToken,
  DataSource,
  DeadLetterView,
  ErrorSummary,
  ExportDocument,
  GoMigrationRequest,
  GoMigrationResult,
  HistoryEntry,
  ImportOptions,
  ImportResult,
  LoginResult,
  OffsetChange,
  OffsetView,
  Role,
  SetOffsetRequest,
  RetryDeadLettersResult,
  SyncConfig,
  SyncActivity,
  SyncList,
  TimelineEvent,
  SyncOverview,
  OverviewPage,
  OverviewQuery,
  OverviewSummary,
  SyncStatus,
  UserView,
  ValidateResult,
  SourceCheck,
  WhoAmI,
  AuthSetup,
  Delivery,
  Incident,
  NotificationChannel,
  NotificationRule,
  NotificationTestResult,
} from './types.ts';

/** An error answer of the API (or a transport failure: status 0, code `IDRA_ERR_CLIENT_NETWORK`). */
export class IdraApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ApiErrorBody['details'];
  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.name = 'IdraApiError';
    this.status = status;
    this.code = body.code;
    this.details = body.details;
  }
}

export interface IdraClientOptions {
  /** Server root, e.g. `http://localhost:8080` (the client adds `/api/v1`). */
  baseUrl: string;
  /** A session token from `login`, or an API token. */
  token?: string | undefined;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | boolean | undefined>;
const enc = encodeURIComponent;

/** Typed client of the Idra REST API (`/api/v1`). Uses only `fetch`: runs in browsers and Node. */
export class IdraClient {
  readonly baseUrl: string;
  token: string | undefined;
  private readonly fetchFn: typeof fetch;

  constructor(opts: IdraClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.fetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  private url(path: string, query?: Query): string {
    const qs = Object.entries(query ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${enc(k)}=${enc(String(v))}`)
      .join('&');
    return `${this.baseUrl}/api/v1${path}${qs ? `?${qs}` : ''}`;
  }

  private headers(body: boolean): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json' };
    if (body) h['content-type'] = 'application/json';
    if (this.token) h.authorization = `Bearer ${this.token}`;
    return h;
  }

  /** Sends one request; resolves the parsed JSON body (undefined for 204) or throws IdraApiError. */
  async request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    let res: Response;
    try {
      res = await this.fetchFn(this.url(path, query), {
        method,
        headers: this.headers(body !== undefined),
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new IdraApiError(0, { code: 'IDRA_ERR_CLIENT_NETWORK', message: `cannot reach ${this.baseUrl}: ${(err as Error).message}` });
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const b = parsed as Partial<ApiErrorBody> | undefined;
      throw new IdraApiError(res.status, {
        code: typeof b?.code === 'string' ? b.code : `IDRA_ERR_HTTP_${res.status}`,
        message: typeof b?.message === 'string' ? b.message : `${res.status} ${res.statusText}`,
        ...(b?.details ? { details: b.details } : {}),
      });
    }
    return parsed as T;
  }

  readonly auth = {
    /** Logs in and keeps the session token for the next calls. */
    login: async (username: string, password: string): Promise<LoginResult> => {
      const r = await this.request<LoginResult>('POST', '/auth/login', { username, password });
      this.token = r.token;
      return r;
    },
    refresh: async (): Promise<LoginResult> => {
      const r = await this.request<LoginResult>('POST', '/auth/refresh', {});
      this.token = r.token;
      return r;
    },
    logout: () => this.request<void>('POST', '/auth/logout', {}),
    me: () => this.request<WhoAmI>('GET', '/auth/me'),
    /** Needs no login: whether admin/admin still works. */
    setup: () => this.request<AuthSetup>('GET', '/auth/setup'),
    /** Changes the caller's password; the returned session replaces the current one. */
    changePassword: async (currentPassword: string, newPassword: string): Promise<LoginResult> => {
      const r = await this.request<LoginResult>('POST', '/auth/password', { currentPassword, newPassword });
      this.token = r.token;
      return r;
    },
  };

  readonly users = {
    list: () => this.request<UserView[]>('GET', '/users'),
    get: (name: string) => this.request<UserView>('GET', `/users/${enc(name)}`),
    create: (user: { name: string; password: string; role: Role; mustChangePassword?: boolean }) => this.request<UserView>('POST', '/users', user),
    /** `revokeTokens: true` also revokes every API token of the user (with a password reset after a leak). */
    update: (name: string, patch: { role?: Role; password?: string; mustChangePassword?: boolean; revokeTokens?: boolean }) =>
      this.request<UserView>('PATCH', `/users/${enc(name)}`, patch),
    delete: (name: string) => this.request<void>('DELETE', `/users/${enc(name)}`),
  };

  readonly tokens = {
    list: () => this.request<ApiTokenView[]>('GET', '/tokens'),
    create: (req: { name: string; role?: Role; expiresInDays?: number }) => this.request<CreatedApiToken>('POST', '/tokens', req),
    revoke: (id: string) => this.request<void>('DELETE', `/tokens/${enc(id)}`),
  };

  readonly dataSources = {
    list: () => this.request<DataSource[]>('GET', '/datasources'),
    get: (id: string) => this.request<DataSource>('GET', `/datasources/${enc(id)}`),
    create: (ds: DataSource, opts: ChangeOptions = {}) => this.request<DataSource>('POST', '/datasources', ds, { reason: opts.reason }),
    /** Creates or replaces; masked secrets sent back unchanged keep the stored ones. */
    put: (ds: DataSource, opts: ChangeOptions = {}) => this.request<DataSource>('PUT', `/datasources/${enc(ds.id)}`, ds, { ...opts }),
    delete: (id: string, opts: ChangeOptions = {}) => this.request<void>('DELETE', `/datasources/${enc(id)}`, undefined, { reason: opts.reason }),
    /** Every change of the data source, newest first (secrets masked). */
    history: (id: string) => this.request<HistoryEntry[]>('GET', `/datasources/${enc(id)}/history`),
    test: (id: string) => this.request<ConnectionTestResult>('POST', `/datasources/${enc(id)}/test`, {}),
    testUnsaved: (ds: DataSource) => this.request<ConnectionTestResult>('POST', '/datasources/test', ds),
    /** What a stored data source holds (tables, collections, topics, bucket prefixes …), with columns and keys where known. */
    tables: (id: string) => this.request<TableListing>('GET', `/datasources/${enc(id)}/tables`),
  };

  readonly syncs = {
    list: () => this.request<SyncList>('GET', '/syncs'),
    get: (id: string) => this.request<SyncConfig>('GET', `/syncs/${enc(id)}`),
    create: (sync: SyncConfig, opts: ChangeOptions = {}) => this.request<SyncConfig>('POST', '/syncs', sync, { ...opts }),
    /** Creates or replaces; masked secrets sent back unchanged keep the stored ones. */
    put: (sync: SyncConfig, opts: ChangeOptions = {}) => this.request<SyncConfig>('PUT', `/syncs/${enc(sync.id)}`, sync, { ...opts }),
    delete: (id: string, opts: ChangeOptions = {}) => this.request<void>('DELETE', `/syncs/${enc(id)}`, undefined, { reason: opts.reason }),
    /** Every create, update, pause, resume and delete of the sync, newest first (secrets masked). */
    history: (id: string) => this.request<HistoryEntry[]>('GET', `/syncs/${enc(id)}/history`),
    validate: (sync: unknown) => this.request<ValidateResult>('POST', '/syncs/validate', sync),
    /** Connects to the sync's source as its agent would (operator): would it run? */
    check: (sync: unknown) => this.request<SourceCheck>('POST', '/syncs/check', sync),
    /** `wait`: answer once the agent has stopped the sync and released its lock (up to 30 s; 409 if it has not). */
    pause: (id: string, opts: { wait?: boolean; reason?: string } = {}) =>
      this.request<SyncConfig>('POST', `/syncs/${enc(id)}/pause`, {}, { wait: opts.wait ? 'true' : undefined, reason: opts.reason }),
    resume: (id: string, opts: { reason?: string } = {}) => this.request<SyncConfig>('POST', `/syncs/${enc(id)}/resume`, {}, { reason: opts.reason }),
    /** Asks the sync's agent to attempt again now (skipping the backoff, or after a rejected row). */
    retry: (id: string) => this.request<{ requested: boolean; runningOn: string | null }>('POST', `/syncs/${enc(id)}/retry`, {}),
    /** Copies a sync under a new id; the copy is paused unless `enabled` is true. */
    duplicate: (id: string, req: { id: string; name?: string; enabled?: boolean }) => this.request<SyncConfig>('POST', `/syncs/${enc(id)}/duplicate`, req),
    status: (id: string) => this.request<SyncStatus>('GET', `/syncs/${enc(id)}/status`),
    /** The sync's row of the overview: health, status, assignment, lock owner, dead letters. */
    overview: (id: string) => this.request<SyncOverview>('GET', `/syncs/${enc(id)}/overview`),
    /** Per-minute throughput, lag and errors over the range (kept 24 h). */
    activity: (id: string, opts: { range?: SyncActivity['range'] } = {}) =>
      this.request<SyncActivity>('GET', `/syncs/${enc(id)}/activity`, undefined, { range: opts.range }),
    /** What happened to the sync, newest first: state changes, handoffs, errors, schema changes, pauses, offset edits. */
    timeline: (id: string) => this.request<TimelineEvent[]>('GET', `/syncs/${enc(id)}/timeline`),
    deadLetters: (id: string) => this.request<DeadLetterView[]>('GET', `/syncs/${enc(id)}/errors`),
    deleteDeadLetter: (id: string, errorId: string) => this.request<void>('DELETE', `/syncs/${enc(id)}/errors/${enc(errorId)}`),
    /** Creates many syncs in one request: none is created unless all are valid (the 400 lists `details.items` per sync). */
    bulkCreate: (syncs: SyncConfig[], opts: { reason?: string } = {}) =>
      this.request<{ created: string[] }>('POST', '/syncs/bulk', { syncs }, { reason: opts.reason }),
    /** Writes the chosen rejected rows through the destination again. */
    retryDeadLetters: (id: string, ids: string[]) => this.request<RetryDeadLettersResult>('POST', `/syncs/${enc(id)}/errors/retry`, { ids }),
    deleteDeadLetters: (id: string) => this.request<{ deleted: number }>('DELETE', `/syncs/${enc(id)}/errors`),
  };

  readonly offsets = {
    get: (syncId: string) => this.request<OffsetView>('GET', `/syncs/${enc(syncId)}/offset`),
    /** Admin only, on a paused sync whose agent has stopped. */
    set: (syncId: string, req: SetOffsetRequest) => this.request<OffsetView>('PUT', `/syncs/${enc(syncId)}/offset`, req),
    history: (syncId: string) => this.request<OffsetChange[]>('GET', `/syncs/${enc(syncId)}/offset/history`),
  };

  /** Notifications sent by the leader (admin manages channels and rules; anyone reads incidents and deliveries). */
  readonly notifications = {
    /** Channels with their URL and secret masked. */
    channels: () => this.request<NotificationChannel[]>('GET', '/notifications/channels'),
    createChannel: (c: NotificationChannel) => this.request<NotificationChannel>('POST', '/notifications/channels', c),
    /** Creates or replaces; a masked URL or secret sent back unchanged keeps the stored one. */
    putChannel: (c: NotificationChannel) => this.request<NotificationChannel>('PUT', `/notifications/channels/${enc(c.id)}`, c),
    deleteChannel: (id: string) => this.request<void>('DELETE', `/notifications/channels/${enc(id)}`),
    /** Sends a sample message through the channel now (once, no retries) and logs it. */
    testChannel: (id: string) => this.request<NotificationTestResult>('POST', `/notifications/channels/${enc(id)}/test`, {}),
    rules: () => this.request<NotificationRule[]>('GET', '/notifications/rules'),
    createRule: (r: NotificationRule) => this.request<NotificationRule>('POST', '/notifications/rules', r),
    putRule: (r: NotificationRule) => this.request<NotificationRule>('PUT', `/notifications/rules/${enc(r.id)}`, r),
    deleteRule: (id: string) => this.request<void>('DELETE', `/notifications/rules/${enc(id)}`),
    /** Incidents open (told) or pending (not lasted long enough yet). */
    incidents: () => this.request<Incident[]>('GET', '/notifications/incidents'),
    /** The delivery log, newest first. */
    deliveries: (opts: { limit?: number } = {}) =>
      this.request<Delivery[]>('GET', '/notifications/deliveries', undefined, { limit: opts.limit === undefined ? undefined : String(opts.limit) }),
  };

  /** Idra export (`{ dataSources, syncs }`, secrets masked): every sync, or the `ids` given with their data sources. */
  export = (opts: { ids?: string[] } = {}) =>
    this.request<ExportDocument>('GET', '/export', undefined, { ids: opts.ids?.length ? opts.ids.join(',') : undefined });
  /** Imports an Idra export, a sync array, or an original Go Idra export. */
  import = (doc: unknown, opts: ImportOptions = {}) =>
    this.request<ImportResult>('POST', '/import', doc, {
      overwrite: opts.overwrite,
      dryRun: opts.dryRun ? 'true' : undefined,
      skipRefused: opts.skipRefused ? 'true' : undefined,
    });
  /** Admin: imports Go Idra syncs with their offsets, read from its etcd (`idra migrate`). */
  migrateGoIdra = (req: GoMigrationRequest) => this.request<GoMigrationResult>('POST', '/migrate/go-idra', req);
  /** Every sync in one document: for scripts. At a thousand syncs it is most of a megabyte; screens use a page or the summary. */
  overview = () => this.request<SyncOverview[]>('GET', '/overview');
  /** One page of the overview, filtered (text, health), sorted and counted by the server. */
  overviewPage = (query: Partial<OverviewQuery> = {}) =>
    this.request<OverviewPage>('GET', '/overview/page', undefined, {
      q: query.q || undefined,
      health: query.health || undefined,
      sort: query.sort,
      dir: query.dir,
      page: query.page,
      pageSize: query.pageSize,
    });
  /** Counts by health, the busiest syncs and the newest errors. */
  overviewSummary = () => this.request<OverviewSummary>('GET', '/overview/summary');
  statuses = () => this.request<SyncStatus[]>('GET', '/status');
  errors = () => this.request<ErrorSummary[]>('GET', '/errors');
  agents = () => this.request<AgentView[]>('GET', '/agents');
  /** Data sources with a concurrency limit (or slots in use): who holds their slots, who waits. */
  slots = () => this.request<DataSourceSlotsView[]>('GET', '/slots');
  /** Agents that left the cluster (stopped or lost), newest first, with where their syncs went. */
  agentEvents = () => this.request<AgentEvent[]>('GET', '/agents/events');
  /** Every connector: roles, endpoint fields, option schemas and modes. */
  connectors = () => this.request<ConnectorDescription[]>('GET', '/connectors');
  assignments = () => this.request<AssignmentView[]>('GET', '/assignments');
  cluster = () => this.request<ClusterHealth>('GET', '/cluster');

  /**
   * Follows `GET /api/v1/events` (server-sent events over fetch, so the token goes in a header) and
   * calls `onEvent` for each change of each batch until `signal` aborts or the server ends the stream.
   */
  async events(onEvent: (e: ClusterEvent) => void, signal: AbortSignal): Promise<void> {
    const res = await this.fetchFn(this.url('/events'), { headers: { ...this.headers(false), accept: 'text/event-stream' }, signal });
    if (!res.ok || !res.body) {
      const body = (await res.json().catch(() => undefined)) as ApiErrorBody | undefined;
      throw new IdraApiError(res.status, body ?? { code: `IDRA_ERR_HTTP_${res.status}`, message: res.statusText });
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          // A `changes` event carries a batch; each change is handed over on its own.
          if (data) for (const e of [JSON.parse(data) as ClusterEvent | ClusterEvent[]].flat()) onEvent(e);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    } finally {
      reader.releaseLock();
    }
  }
}
