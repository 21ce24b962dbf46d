import type { SourceCheck } from '@idra/api-client';
import { Spinner } from '../../components/Status.tsx';

/** The source check's verdict, in the words an operator acts on. */
export function SourceCheckNote({ check }: { check: { data?: SourceCheck | undefined; isFetching: boolean } }) {
  const r = check.data;
  if (check.isFetching && !r) {
    return (
      <p className="muted">
        <Spinner label="Checking the source" /> Checking what the source's user can see…
      </p>
    );
  }
  if (!r) return null;
  if (r.problem) {
    return (
      <div className="error-note" role="alert" data-testid="source-check">
        <strong>This sync would not start</strong> <span className="code">{r.problem.code}</span>
        <p>{r.problem.message}</p>
        {r.transactions?.grant && (
          <p>
            Run on the source: <code>{r.transactions.grant}</code>
          </p>
        )}
      </div>
    );
  }
  if (r.error)
    return (
      <p className="muted" data-testid="source-check">
        The source could not be checked: {r.error}
      </p>
    );
  if (r.warning) {
    return (
      <p className="warning-note" role="status" data-testid="source-check">
        <strong>It will run, relying on the delay alone:</strong> {r.warning}
      </p>
    );
  }
  return (
    <p className="ok-text" data-testid="source-check">
      ✓ The source's user sees other sessions' transactions: rows they commit late are waited for.
    </p>
  );
}
