/** The agent's exit codes (docs/configuration.md: Exit codes). */
export const AGENT_EXIT = {
  /** Stopped by SIGTERM or SIGINT. */
  stopped: 0,
  /** Could not start (state dir in use, a file it cannot read), or failed while stopping. */
  error: 1,
  /** Invalid options or configuration. */
  config: 2,
  /**
   * Single mode: every enabled sync failed in a way only an operator can fix (configuration, a row
   * refused under onError stop, an offset that no longer fits), which nothing retries in single mode.
   */
  allFailed: 3,
  /** Single mode: no sync is enabled. */
  noneEnabled: 4,
} as const;
