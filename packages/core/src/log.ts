/** The subset of pino's logger that core uses, so core does not depend on a logging library. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** A logger that drops everything (tests, libraries used without logging). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** Which Idra process wrote a log line: its `service` field. */
export type LogService = 'idra-agent' | 'idra-api';

/**
 * The one log schema of every Idra process, as pino options: `level` by name, `time` as an ISO 8601
 * string, `service`, the process's own bindings (the agent's `agentId`) once, then the line's fields
 * and `msg`. A line's fields must not repeat a binding (JSON readers would keep only one of them).
 */
export function logSchemaOptions(service: LogService, bindings: Record<string, string> = {}) {
  return {
    base: { service, ...bindings },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: { level: (label: string) => ({ level: label }) },
  };
}
