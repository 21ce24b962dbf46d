/** Which throwaway server (or tool the testkit provisions) a testkit error is about. */
export type TestServerKind = 'postgres' | 'mariadb' | 'etcd' | 'kafka' | 'ferretdb' | 's3' | 'go' | 'helm' | 'kubeconform';

/** A throwaway server did not become ready; `logTail` holds the end of its log. */
export class TestServerStartError extends Error {
  readonly code = 'IDRA_ERR_TESTKIT_SERVER_START';
  readonly server: TestServerKind;
  readonly logTail: string;

  constructor(server: TestServerKind, reason: string, logTail: string, options?: { cause?: unknown }) {
    super(`${server} did not start: ${reason}\n--- last lines of the ${server} log ---\n${logTail}`, options);
    this.name = 'TestServerStartError';
    this.server = server;
    this.logTail = logTail;
  }
}
