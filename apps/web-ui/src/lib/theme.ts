import { useEffect, useState } from 'react';

/** system follows prefers-color-scheme; light and dark override it. */
export type Theme = 'system' | 'light' | 'dark';

const KEY = 'idra.theme';
const NEXT: Record<Theme, Theme> = { system: 'light', light: 'dark', dark: 'system' };

function stored(): Theme {
  const v = localStorage.getItem(KEY);
  return v === 'light' || v === 'dark' ? v : 'system';
}

/** The chosen theme, kept across visits, applied as `data-theme` on <html>; `next` cycles it. */
export function useTheme(): { theme: Theme; next: () => void } {
  const [theme, setTheme] = useState<Theme>(stored);
  useEffect(() => {
    if (theme === 'system') {
      delete document.documentElement.dataset.theme;
      localStorage.removeItem(KEY);
    } else {
      document.documentElement.dataset.theme = theme;
      localStorage.setItem(KEY, theme);
    }
  }, [theme]);
  return { theme, next: () => setTheme((t) => NEXT[t]) };
}
