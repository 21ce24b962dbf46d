import { useEffect, type ReactNode } from 'react';

/** A screen: its title (also the document title) and the actions that apply to all of it. */
export function Page({ title, actions, children, subtitle }: { title: string; actions?: ReactNode; children: ReactNode; subtitle?: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · Idra`;
  }, [title]);
  return (
    <>
      <div className="page-header">
        <div>
          <h1>{title}</h1>
          {subtitle && <p className="subtitle">{subtitle}</p>}
        </div>
        {actions && <div className="page-actions">{actions}</div>}
      </div>
      {children}
    </>
  );
}

/** A titled block of a screen. */
export function Section({ title, children, actions, id }: { title: string; children: ReactNode; actions?: ReactNode; id?: string }) {
  const headingId = id ?? `section-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section className="card" aria-labelledby={headingId}>
      <div className="card-header">
        <h2 id={headingId}>{title}</h2>
        {actions && <div className="card-actions">{actions}</div>}
      </div>
      {children}
    </section>
  );
}
