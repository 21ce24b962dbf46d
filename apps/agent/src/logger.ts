import { pino, type Logger as PinoLogger } from 'pino';

/** Structured JSON logs; human-readable lines when stdout is a terminal. */
export function createLogger(level: string, bindings: Record<string, unknown>): PinoLogger {
  const pretty = process.stdout.isTTY && process.env.IDRA_LOG_FORMAT !== 'json';
  return pino({
    level,
    base: bindings,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['*.password', '*.connection.password', '*.connection.url', 'password'], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,agentId' } } } : {}),
  });
}
