import { Suspense, useEffect, useRef, useState } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router';
import { useCan, useSession, useUser } from '../api/session.tsx';
import { useLiveEvents } from '../api/live.ts';
import { useApiOutage } from '../api/reachability.ts';
import { formatAgo } from '../lib/format.ts';
import { Loading } from '../components/Status.tsx';
import { useTheme } from '../lib/theme.ts';

const THEME_LABEL = { system: 'Theme: system', light: 'Theme: light', dark: 'Theme: dark' } as const;
const LIVE_LABEL = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…' } as const;

/** The frame of every screen once logged in: navigation, user, theme, live-update state. */
export function Layout() {
  const user = useUser();
  const isAdmin = useCan('admin');
  const { logout } = useSession();
  const live = useLiveEvents();
  const outage = useApiOutage();
  const { theme, next } = useTheme();
  const location = useLocation();
  const main = useRef<HTMLElement>(null);
  const [menuOpen, setMenuOpen] = useState(false);
  const first = useRef(true);

  // After a navigation, keyboard and screen-reader users start at the new screen's content.
  useEffect(() => {
    setMenuOpen(false);
    if (first.current) {
      first.current = false;
      return;
    }
    // Without preventScroll the browser scrolls main to the top edge and the navigation disappears.
    main.current?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }, [location.pathname]);

  const links: Array<[string, string]> = [
    ['/', 'Dashboard'],
    ['/syncs', 'Syncs'],
    ['/datasources', 'Data sources'],
    ['/agents', 'Agents'],
    ['/assignments', 'Assignments'],
    ['/notifications', 'Notifications'],
    ...(isAdmin ? ([['/users', 'Users']] as Array<[string, string]>) : []),
    ['/tokens', 'API tokens'],
  ];
  return (
    <div className={outage ? 'shell stale' : 'shell'}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Idra</span>
        <button type="button" className="menu-toggle" aria-expanded={menuOpen} aria-controls="main-nav" onClick={() => setMenuOpen((o) => !o)}>
          Menu
        </button>
        <nav id="main-nav" aria-label="Main" className={menuOpen ? 'open' : undefined}>
          <ul>
            {links.map(([to, label]) => (
              <li key={to}>
                <NavLink to={to} end={to === '/'}>
                  {label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="topbar-right">
          <span className={`live live-${outage ? 'reconnecting' : live}`} title="Updates pushed by the API server">
            <span className="dot" aria-hidden="true" /> {outage ? 'offline' : LIVE_LABEL[live]}
          </span>
          <button type="button" className="ghost" onClick={next} aria-label={`${THEME_LABEL[theme]} (change)`}>
            {theme === 'dark' ? '☾' : theme === 'light' ? '☀' : '◐'}
          </button>
          <NavLink to="/password" className="user" title="Change your password">
            {user.name} <span className="role">{user.role}</span>
          </NavLink>
          <button type="button" onClick={() => void logout()}>
            Log out
          </button>
        </div>
      </header>
      {outage && (
        <div className="outage" role="alert">
          <strong>API server unreachable since {outage.toLocaleTimeString()}</strong>
          <span>
            ({formatAgo(outage.toISOString())}). What is shown below is from before and greyed out; the page refreshes by itself when the server answers.
          </span>
        </div>
      )}
      <main id="main" ref={main} tabIndex={-1} aria-busy={outage ? true : undefined}>
        <Suspense fallback={<Loading what="the screen" />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
