import { lazy } from 'react';
import { Route, Routes } from 'react-router';
import { useSession } from './api/session.tsx';
import { Layout } from './screens/Layout.tsx';
import { LoginScreen } from './screens/LoginScreen.tsx';
import { ChangePasswordScreen } from './screens/ChangePasswordScreen.tsx';
import { Loading } from './components/Status.tsx';

// One chunk per screen: the first page loads only what it shows.
const DashboardScreen = lazy(() => import('./screens/DashboardScreen.tsx').then((m) => ({ default: m.DashboardScreen })));
const SyncListScreen = lazy(() => import('./screens/SyncListScreen.tsx').then((m) => ({ default: m.SyncListScreen })));
const SyncEditorScreen = lazy(() => import('./screens/SyncEditorScreen.tsx').then((m) => ({ default: m.SyncEditorScreen })));
const BulkCreateScreen = lazy(() => import('./screens/BulkCreateScreen.tsx').then((m) => ({ default: m.BulkCreateScreen })));
const SyncDetailScreen = lazy(() => import('./screens/SyncDetailScreen.tsx').then((m) => ({ default: m.SyncDetailScreen })));
const DataSourcesScreen = lazy(() => import('./screens/DataSourcesScreen.tsx').then((m) => ({ default: m.DataSourcesScreen })));
const AgentsScreen = lazy(() => import('./screens/AgentsScreen.tsx').then((m) => ({ default: m.AgentsScreen })));
const AssignmentsScreen = lazy(() => import('./screens/AssignmentsScreen.tsx').then((m) => ({ default: m.AssignmentsScreen })));
const UsersScreen = lazy(() => import('./screens/UsersScreen.tsx').then((m) => ({ default: m.UsersScreen })));
const TokensScreen = lazy(() => import('./screens/TokensScreen.tsx').then((m) => ({ default: m.TokensScreen })));
const NotificationsScreen = lazy(() => import('./screens/notifications/NotificationsScreen.tsx').then((m) => ({ default: m.NotificationsScreen })));
const NotFoundScreen = lazy(() => import('./screens/NotFoundScreen.tsx').then((m) => ({ default: m.NotFoundScreen })));

/**
 * Without a session every path shows the login (the URL stays, so that logging in again returns to
 * the same screen); a user who must change their password sees only that form.
 */
export function App() {
  const { state } = useSession();
  if (state.status === 'checking') {
    return (
      <main className="center-page">
        <Loading what="your session" />
      </main>
    );
  }
  if (state.status === 'anonymous') return <LoginScreen notice={state.notice} />;
  if (state.session.mustChangePassword) return <ChangePasswordScreen forced />;
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<DashboardScreen />} />
        <Route path="syncs" element={<SyncListScreen />} />
        <Route path="syncs/new" element={<SyncEditorScreen />} />
        <Route path="syncs/bulk" element={<BulkCreateScreen />} />
        <Route path="syncs/:id" element={<SyncDetailScreen />} />
        <Route path="syncs/:id/edit" element={<SyncEditorScreen />} />
        <Route path="datasources" element={<DataSourcesScreen />} />
        <Route path="agents" element={<AgentsScreen />} />
        <Route path="assignments" element={<AssignmentsScreen />} />
        <Route path="users" element={<UsersScreen />} />
        <Route path="tokens" element={<TokensScreen />} />
        <Route path="notifications" element={<NotificationsScreen />} />
        <Route path="password" element={<ChangePasswordScreen forced={false} />} />
        <Route path="*" element={<NotFoundScreen />} />
      </Route>
    </Routes>
  );
}
