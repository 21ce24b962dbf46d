import { ConfigError, errorMessage, guardProcess } from '@idra/core';
import { buildApp } from './app.ts';
import { USAGE, parseServerOptions } from './options.ts';

async function main(): Promise<number> {
  if (process.argv[2] === 'etcd-access') {
    const { etcdAccessCommand } = await import('./etcd-access-command.ts');
    return etcdAccessCommand(process.argv.slice(3), process.env, { stdout: process.stdout, stderr: process.stderr });
  }
  let opts;
  try {
    opts = parseServerOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError || err instanceof TypeError ? err.message : errorMessage(err)}\n\n${USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  let app;
  try {
    app = await buildApp(opts);
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    process.stderr.write(`idra-api: cannot start: ${errorMessage(err)}\n`);
    await app?.close().catch(() => {});
    return 1;
  }
  // One failed request's stray error (a driver's 'error' event while testing a connection, a stray
  // promise) must not stop the API for everyone.
  guardProcess(app.log);
  const { promise, resolve } = Promise.withResolvers<number>();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return resolve(1);
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    app.close().then(
      () => resolve(0),
      () => resolve(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return promise;
}

process.exitCode = await main();
