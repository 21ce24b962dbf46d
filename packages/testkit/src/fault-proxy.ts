import { createServer, connect, type Server, type Socket } from 'node:net';

/** What the proxy does with the traffic between its clients and its target. */
export type FaultMode = 'pass' | 'slow' | 'blackhole' | 'cut';

/**
 * A TCP proxy in front of one server that injects network faults on command, for every connection
 * at once: connections reset, the link cut, a blackhole (nothing passes, nothing closes), latency.
 */
export interface FaultProxy {
  host: string;
  /** The proxy's port: connect here instead of the target's. */
  port: number;
  readonly mode: FaultMode;
  /** Connections open through the proxy now. */
  readonly connections: number;
  /** `url` with its host and port replaced by the proxy's (credentials, path and query kept). */
  url(url: string): string;
  /** Resets every open connection (RST to both ends: ECONNRESET); new connections pass. */
  reset(): void;
  /** The link goes down until {@link heal}: open connections are reset and new ones are refused. */
  cut(): void;
  /**
   * Nothing passes either way until {@link heal}, and nothing is closed: clients see silence, as
   * behind a dropped route. New connections are accepted and stay silent too. What was held back
   * (data, closes) flows once healed, as TCP would deliver it after the partition.
   */
  blackhole(): void;
  /** Delays every chunk, each way, by `latencyMs` (order kept) until {@link heal}. */
  slow(latencyMs: number): void;
  /** Back to forwarding everything at full speed; held traffic flows. */
  heal(): void;
  /** Stops listening and resets every connection. */
  close(): Promise<void>;
}

interface ProxyState {
  mode: FaultMode;
  latencyMs: number;
}

interface Target {
  host: string;
  port: number;
}

/** One direction of a proxied connection: chunks from `from` to `to`, delayed or held as the mode says. */
class Direction {
  private readonly queue: Array<{ chunk: Buffer | null; due: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private blocked = false;
  private readonly from: Socket;
  private readonly to: Socket;
  private readonly state: ProxyState;

  constructor(from: Socket, to: Socket, state: ProxyState) {
    this.from = from;
    this.to = to;
    this.state = state;
    from.on('data', (chunk: Buffer) => this.push(chunk));
    from.on('end', () => this.push(null));
    to.on('drain', () => {
      this.blocked = false;
      this.pump();
    });
  }

  private push(chunk: Buffer | null): void {
    const latency = this.state.mode === 'slow' ? this.state.latencyMs : 0;
    const last = this.queue[this.queue.length - 1]?.due ?? 0;
    this.queue.push({ chunk, due: Math.max(Date.now() + latency, last) });
    this.pump();
  }

  /** Forwards what is due; pauses the sender while held, blocked or behind. */
  pump(): void {
    if (this.timer || this.blocked) return;
    if (this.state.mode === 'blackhole') {
      this.from.pause();
      return;
    }
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const wait = head.due - Date.now();
      if (wait > 0) {
        this.from.pause();
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, wait);
        return;
      }
      this.queue.shift();
      if (head.chunk === null) {
        this.to.end();
      } else if (!this.to.write(head.chunk)) {
        this.blocked = true;
        this.from.pause();
        return;
      }
    }
    if (!this.from.destroyed) this.from.resume();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** A client connection and its connection to the target. */
class Link {
  private upstream: Socket | undefined;
  private directions: Direction[] = [];
  private closedWhileHeld = false;
  private readonly client: Socket;
  private readonly target: Target;
  private readonly state: ProxyState;
  private readonly onClose: () => void;

  constructor(client: Socket, target: Target, state: ProxyState, onClose: () => void) {
    this.client = client;
    this.target = target;
    this.state = state;
    this.onClose = onClose;
    client.pause();
    client.on('error', () => {});
    client.on('close', () => this.closed());
    if (state.mode !== 'blackhole') this.open();
  }

  /** Connects to the target (delayed while blackholed: a silent link never reaches the server). */
  open(): void {
    if (this.upstream || this.client.destroyed) return;
    const upstream = connect(this.target.port, this.target.host);
    this.upstream = upstream;
    upstream.pause();
    upstream.on('error', () => {});
    upstream.on('close', () => this.closed());
    this.directions = [new Direction(this.client, upstream, this.state), new Direction(upstream, this.client, this.state)];
    for (const d of this.directions) d.pump();
  }

  private closed(): void {
    if (this.state.mode === 'blackhole') {
      this.closedWhileHeld = true;
      return;
    }
    this.destroy();
  }

  /** Applies a change of mode to this link. */
  resume(): void {
    if (this.closedWhileHeld) return this.destroy();
    this.open();
    for (const d of this.directions) d.pump();
  }

  reset(): void {
    for (const d of this.directions) d.stop();
    if (!this.client.destroyed) this.client.resetAndDestroy();
    if (this.upstream && !this.upstream.destroyed) this.upstream.resetAndDestroy();
    this.onClose();
  }

  private destroy(): void {
    for (const d of this.directions) d.stop();
    this.client.destroy();
    this.upstream?.destroy();
    this.onClose();
  }
}

/** Starts a fault proxy on a free loopback port in front of `target` (a `host:port`, or a URL whose host and port are taken). */
export async function startFaultProxy(target: string | Target): Promise<FaultProxy> {
  const to = typeof target === 'string' ? hostAndPort(target) : target;
  const state: ProxyState = { mode: 'pass', latencyMs: 0 };
  const links = new Set<Link>();
  const server: Server = createServer((client) => {
    if (state.mode === 'cut') {
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    const link: Link = new Link(client, to, state, () => links.delete(link));
    links.add(link);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('fault proxy: no listening address');
  const host = '127.0.0.1';
  const port = address.port;
  const setMode = (mode: FaultMode, latencyMs = 0): void => {
    state.mode = mode;
    state.latencyMs = latencyMs;
    for (const link of [...links]) link.resume();
  };
  return {
    host,
    port,
    get mode() {
      return state.mode;
    },
    get connections() {
      return links.size;
    },
    url(url: string) {
      const u = new URL(url);
      u.hostname = host;
      u.port = String(port);
      return u.toString();
    },
    reset() {
      for (const link of [...links]) link.reset();
    },
    cut() {
      state.mode = 'cut';
      for (const link of [...links]) link.reset();
    },
    blackhole: () => setMode('blackhole'),
    slow: (latencyMs) => setMode('slow', latencyMs),
    heal: () => setMode('pass'),
    async close() {
      state.mode = 'cut';
      for (const link of [...links]) link.reset();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function hostAndPort(text: string): Target {
  const u = new URL(text.includes('://') ? text : `tcp://${text}`);
  if (!u.port) throw new Error(`fault proxy: ${text} has no port`);
  return { host: u.hostname, port: Number(u.port) };
}
