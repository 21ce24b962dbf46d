import { formatCount } from '../lib/format.ts';

/** Previous / "Page i of n · total things" / Next, under a paged table; `page` is 1-based. */
export function Pager({
  page,
  pages,
  total,
  noun,
  label = 'Pages',
  onPage,
}: {
  page: number;
  pages: number;
  total: number;
  noun: string;
  label?: string;
  onPage: (page: number) => void;
}) {
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span>
        Page {page} of {pages} · {formatCount(total)} {noun}
        {total === 1 ? '' : 's'}
      </span>
      <button type="button" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
}
