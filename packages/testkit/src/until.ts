/**
 * Polls `probe` until it returns a value (anything but `undefined` or `false`) and resolves with it.
 * A probe that throws counts as "not yet" (a server still refusing connections); its last error is
 * named when `timeoutMs` (the third argument, or `opts.timeoutMs`; default 60 s) passes first.
 * A condition to wait for, never a sleep.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: number | { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const { timeoutMs = 60_000, intervalMs = 50 } = typeof opts === 'number' ? { timeoutMs: opts } : opts;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? '' : ` (last error: ${(lastError as Error).message ?? String(lastError)})`}`,
        {
          cause: lastError,
        },
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
