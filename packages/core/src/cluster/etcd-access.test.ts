import { describe, expect, it } from 'vitest';
import { etcdGrants } from './etcd-access.ts';

describe('etcdGrants', () => {
  it('gives the API server the whole prefix and the agents all of it but users/ and tokens/', () => {
    const grants = etcdGrants('/x/');
    expect(grants.api).toEqual([{ start: '/x/', end: '/x0' }]);
    const inAgents = (key: string) => grants.agent.some((r) => r.start <= key && key < r.end);
    for (const key of ['/x/syncs/a', '/x/status/a', '/x/offsets/a', '/x/leader/1', '/x/timeline/a/1', '/x/tokens', '/x/tokensX', '/x/usersX', '/x/zzz'])
      expect(inAgents(key), key).toBe(true);
    for (const key of ['/x/users/admin', '/x/users/', '/x/tokens/t1', '/x/tokens/', '/y/syncs/a', '/x0']) expect(inAgents(key), key).toBe(false);
  });
});
