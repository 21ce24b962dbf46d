import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';
import { until } from './until.ts';

/** A client of the echo server behind the proxy, with what it received and how it ended. */
class Client {
  readonly socket: Socket;
  received = '';
  ended: string | undefined;
  readonly connected: Promise<void>;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setEncoding('utf8');
    this.socket.on('data', (d: string) => (this.received += d));
    this.socket.on('error', (err: NodeJS.ErrnoException) => (this.ended ??= err.code ?? err.message));
    this.socket.on('close', () => (this.ended ??= 'closed'));
    this.connected = new Promise((resolve) => this.socket.once('connect', () => resolve()));
  }

  /** Sends `text` and resolves once it came back. */
  async echo(text: string, timeoutMs = 5_000): Promise<number> {
    const started = performance.now();
    const want = this.received.length + text.length;
    this.socket.write(text);
    await until(`${want} bytes received`, () => this.received.length >= want, { timeoutMs, intervalMs: 5 });
    return performance.now() - started;
  }
}

describe('fault proxy', () => {
  let echo: Server;
  let proxy: FaultProxy;
  const clients: Client[] = [];
  const client = async () => {
    const c = new Client(proxy.port);
    clients.push(c);
    await c.connected;
    return c;
  };

  beforeAll(async () => {
    echo = createServer((s) => {
      s.on('error', () => {});
      s.pipe(s);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    proxy = await startFaultProxy({ host: '127.0.0.1', port: (echo.address() as { port: number }).port });
  });
  afterAll(async () => {
    for (const c of clients) c.socket.destroy();
    await proxy.close();
    await new Promise((r) => echo.close(r));
  });

  it('passes traffic both ways and rewrites URLs to itself', async () => {
    const c = await client();
    await c.echo('hello');
    expect(c.received).toBe('hello');
    expect(proxy.url('postgres://u:p@db.example:5432/app?sslmode=disable')).toBe(`postgres://u:p@127.0.0.1:${proxy.port}/app?sslmode=disable`);
  });

  it('reset: open connections end with ECONNRESET, new ones pass', async () => {
    const c = await client();
    await c.echo('x');
    proxy.reset();
    await until('the connection to end', () => c.ended !== undefined, { timeoutMs: 5_000, intervalMs: 5 });
    expect(c.ended).toBe('ECONNRESET');
    const d = await client();
    await d.echo('after');
    expect(d.received).toBe('after');
  });

  it('cut: open connections are reset and new ones refused until healed', async () => {
    const c = await client();
    proxy.cut();
    await until('the connection to end', () => c.ended !== undefined, { timeoutMs: 5_000, intervalMs: 5 });
    const refused = new Client(proxy.port);
    clients.push(refused);
    await until('the refused connection to end', () => refused.ended !== undefined, { timeoutMs: 5_000, intervalMs: 5 });
    expect(refused.received).toBe('');
    proxy.heal();
    const d = await client();
    await d.echo('back');
    expect(d.received).toBe('back');
  });

  it('blackhole: nothing passes and nothing closes; held traffic flows once healed', async () => {
    const c = await client();
    await c.echo('a');
    proxy.blackhole();
    c.socket.write('held');
    const late = new Client(proxy.port);
    clients.push(late);
    await late.connected;
    late.socket.write('late');
    await new Promise((r) => setTimeout(r, 300));
    expect(c.received).toBe('a');
    expect(late.received).toBe('');
    expect(c.ended).toBeUndefined();
    proxy.heal();
    await until('both connections to receive', () => c.received === 'aheld' && late.received === 'late', { timeoutMs: 5_000, intervalMs: 5 });
  });

  it('slow: every chunk is delayed each way, in order', async () => {
    const c = await client();
    proxy.slow(100);
    const took = await c.echo('slow');
    for (const part of ['1', '2', '3']) c.socket.write(part);
    await until('the slow bytes to arrive', () => c.received.endsWith('123'), { timeoutMs: 5_000, intervalMs: 5 });
    proxy.heal();
    expect(took).toBeGreaterThanOrEqual(190);
    expect(await c.echo('fast')).toBeLessThan(100);
  });
});
