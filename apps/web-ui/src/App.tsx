import { Route, Routes } from 'react-router';
import { useSession } from './api/session.tsx';
import { Layout } from './screens/Layout.tsx';
import { LoginScreen } from './screens/LoginScreen.tsx';
import { ChangePasswordScreen } from './screens/ChangePasswordScreen.tsx';
import { DashboardScreen } from './screens/DashboardScreen.tsx';
import { SyncListScreen } from './screens/SyncListScreen.tsx';
import { SyncEditorScreen } from './screens/SyncEditorScreen.tsx';
import { SyncDetailScreen } from './screens/SyncDetailScreen.tsx';
import { DataSourcesScreen } from './screens/DataSourcesScreen.tsx';
import { AgentsScreen } from './screens/AgentsScreen.tsx';
import { AssignmentsScreen } from './screens/AssignmentsScreen.tsx';
import { UsersScreen } from './screens/UsersScreen.tsx';
import { TokensScreen } from './screens/TokensScreen.tsx';
import { NotFoundScreen } from './screens/NotFoundScreen.tsx';
import { Loading } from './components/Status.tsx';

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
        <Route path="syncs/:id" element={<SyncDetailScreen />} />
        <Route path="syncs/:id/edit" element={<SyncEditorScreen />} />
        <Route path="datasources" element={<DataSourcesScreen />} />
        <Route path="agents" element={<AgentsScreen />} />
        <Route path="assignments" element={<AssignmentsScreen />} />
        <Route path="users" element={<UsersScreen />} />
        <Route path="tokens" element={<TokensScreen />} />
        <Route path="password" element={<ChangePasswordScreen forced={false} />} />
        <Route path="*" element={<NotFoundScreen />} />
      </Route>
    </Routes>
  );
}
