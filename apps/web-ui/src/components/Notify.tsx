import { createContext, use, useCallback, useMemo, useState, type ReactNode } from 'react';

interface Notice {
  id: number;
  kind: 'ok' | 'error';
  text: string;
}

const NotifyContext = createContext<((kind: Notice['kind'], text: string) => void) | null>(null);
const SHOWN_MS = 6_000;

/** Short messages after an action ("Sync paused"), announced to screen readers. */
export function NotifyProvider({ children }: { children: ReactNode }) {
  const [notices, setNotices] = useState<Notice[]>([]);
  const dismiss = useCallback((id: number) => setNotices((n) => n.filter((x) => x.id !== id)), []);
  const notify = useCallback(
    (kind: Notice['kind'], text: string) => {
      const id = Date.now() + Math.random();
      setNotices((n) => [...n.slice(-3), { id, kind, text }]);
      setTimeout(() => dismiss(id), SHOWN_MS);
    },
    [dismiss],
  );
  const value = useMemo(() => notify, [notify]);
  return (
    <NotifyContext value={value}>
      {children}
      <div className="notices" aria-live="polite">
        {notices.map((n) => (
          <div key={n.id} className={`notice ${n.kind}`} role={n.kind === 'error' ? 'alert' : 'status'}>
            <span>{n.text}</span>
            <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => dismiss(n.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
    </NotifyContext>
  );
}

export function useNotify() {
  const n = use(NotifyContext);
  if (!n) throw new Error('useNotify outside NotifyProvider');
  return n;
}
