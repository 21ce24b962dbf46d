import { useEffect, useId, useRef, useState } from 'react';

export interface MenuAction {
  label: string;
  onSelect: () => void;
  danger?: boolean;
  /** Why the action cannot be taken now; shown instead of hiding it. */
  disabledReason?: string | undefined;
}

/**
 * A "⋯" button opening a menu of row actions (WAI-ARIA menu button): arrows move, Escape closes and
 * returns focus to the button, a click outside closes.
 */
export function ActionMenu({ label, actions }: { label: string; actions: MenuAction[] }) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLUListElement>(null);
  const id = useId();
  const items = () => [...(menu.current?.querySelectorAll<HTMLButtonElement>('[role=menuitem]') ?? [])];
  useEffect(() => {
    if (!open) return;
    items()[0]?.focus();
    const outside = (e: MouseEvent) => {
      if (!menu.current?.contains(e.target as Node) && !button.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', outside);
    return () => document.removeEventListener('mousedown', outside);
  }, [open]);
  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  return (
    <div className="action-menu">
      <button
        ref={button}
        type="button"
        className="icon-button menu-button"
        aria-label={label}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        onClick={() => setOpen((o) => !o)}
      >
        ⋯
      </button>
      {open && (
        <ul
          ref={menu}
          id={id}
          role="menu"
          aria-label={label}
          className="menu"
          onKeyDown={(e) => {
            const list = items();
            const at = list.indexOf(document.activeElement as HTMLButtonElement);
            if (e.key === 'Escape') close();
            else if (e.key === 'ArrowDown') list[(at + 1) % list.length]?.focus();
            else if (e.key === 'ArrowUp') list[(at - 1 + list.length) % list.length]?.focus();
            else if (e.key === 'Tab') setOpen(false);
            else return;
            e.preventDefault();
          }}
        >
          {actions.map((a) => (
            <li key={a.label} role="none">
              <button
                type="button"
                role="menuitem"
                className={a.danger ? 'danger-text' : undefined}
                aria-disabled={a.disabledReason ? true : undefined}
                title={a.disabledReason}
                onClick={() => {
                  if (a.disabledReason) return;
                  // Focus goes back to the button first, so that a dialog the action opens returns it there.
                  close();
                  a.onSelect();
                }}
              >
                {a.label}
                {a.disabledReason && <span className="muted small"> ({a.disabledReason})</span>}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
