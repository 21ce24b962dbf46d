import { useQuery } from '@tanstack/react-query';
import { useClient } from '../api/client-context.tsx';

/** The first start's admin/admin, told on the login page only while it still works (the API says so; it says nothing else before a login). */
export function DefaultPasswordHint() {
  const client = useClient();
  const setup = useQuery({ queryKey: ['auth', 'setup'], queryFn: () => client.auth.setup() });
  if (!setup.data?.defaultAdminPassword) return null;
  return <p className="hint">A new installation has the user admin with the password admin, to be changed at the first login.</p>;
}
