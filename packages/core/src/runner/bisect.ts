/** A row a destination refused, with the refusal. */
export interface Rejected<R> {
  row: R;
  error: unknown;
}

/**
 * Finds the rows of a batch the destination refused (`refusal`, for the whole batch) by halving it:
 * each half is written alone, a refused half is halved again down to single rows. The rows of the
 * halves that go through are written. With `first`, it stops at the first refused row in batch order
 * — the rows before it are written, none after it (error policy `stop`); otherwise it finds every
 * refused row (`skip`). Errors that are not refusals (`isRefusal` false) end it at once.
 * n rows with k refused cost about 2·k·log2(n) writes.
 */
export async function isolateRefused<R>(
  rows: readonly R[],
  refusal: unknown,
  write: (rows: R[]) => Promise<void>,
  opts: { isRefusal: (err: unknown) => boolean; first: boolean },
): Promise<Array<Rejected<R>>> {
  const refused: Array<Rejected<R>> = [];
  if (rows.length === 1) return [{ row: rows[0]!, error: refusal }];
  /** Writes `part`, or isolates its refused rows; true when the search should end (first found). */
  const visit = async (part: R[]): Promise<boolean> => {
    try {
      await write(part);
      return false;
    } catch (err) {
      if (!opts.isRefusal(err)) throw err;
      if (part.length === 1) {
        refused.push({ row: part[0]!, error: err });
        return opts.first;
      }
      return (await halves(part)) && opts.first;
    }
  };
  const halves = async (part: R[]): Promise<boolean> => {
    const mid = Math.ceil(part.length / 2);
    return (await visit(part.slice(0, mid))) || (await visit(part.slice(mid)));
  };
  await halves([...rows]);
  return refused;
}
