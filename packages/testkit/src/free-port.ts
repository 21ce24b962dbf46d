import { createServer } from 'node:net';

// The kernel may hand the same port to two listen(0) calls once the first is closed again;
// never give one port out twice in this process.
const handedOut = new Set<number>();

function listenOnAnyPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error(`unexpected server address ${String(address)}`));
      });
    });
  });
}

/** Returns a TCP port on 127.0.0.1 that is free now and not yet returned by this process. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await listenOnAnyPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
