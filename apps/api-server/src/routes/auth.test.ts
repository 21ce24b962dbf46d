import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, USER_PASSWORD, startTestServer, type TestServer } from '../testing/harness.ts';

describe('auth: login, forced password change, sessions, roles, API tokens', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({}, { users: false });
  });
  afterAll(async () => s.close());

  it('creates admin/admin on first start, flags it, and refuses everything but the password change until then', async () => {
    // The login page may say that admin/admin works, while it does (and nothing else, to anyone).
    expect((await s.call('GET', '/api/v1/auth/setup')).body).toEqual({ defaultAdminPassword: true });
    const bad = await s.call('POST', '/api/v1/auth/login', { body: { username: 'admin', password: 'wrong' } });
    expect(bad.status).toBe(401);
    expect(bad.body.code).toBe('IDRA_ERR_AUTH_INVALID_CREDENTIALS');
    const unknown = await s.call('POST', '/api/v1/auth/login', { body: { username: 'nobody', password: 'whatever' } });
    expect(unknown.status).toBe(401);

    const login = await s.call('POST', '/api/v1/auth/login', { body: { username: 'admin', password: 'admin' } });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ mustChangePassword: true, user: { name: 'admin', role: 'admin', mustChangePassword: true } });
    expect(login.body.user.passwordHash).toBeUndefined();
    const token = login.body.token as string;
    for (const [method, url] of [
      ['GET', '/api/v1/syncs'],
      ['GET', '/api/v1/users'],
      ['POST', '/api/v1/auth/refresh'],
    ] as const) {
      const r = await s.call(method, url, { token, ...(method === 'POST' ? { body: {} } : {}) });
      expect(r.status, url).toBe(403);
      expect(r.body.code).toBe('IDRA_ERR_AUTH_PASSWORD_CHANGE_REQUIRED');
    }
    // Who am I stays answered, so that the UI can show whose password is to be changed.
    expect((await s.call('GET', '/api/v1/auth/me', { token })).body).toMatchObject({ name: 'admin', mustChangePassword: true });
    const weak = await s.call('POST', '/api/v1/auth/password', { token, body: { currentPassword: 'admin', newPassword: 'short' } });
    expect(weak.status).toBe(400);
    expect(weak.body.details.issues[0].path).toBe('newPassword');
    const wrongCurrent = await s.call('POST', '/api/v1/auth/password', { token, body: { currentPassword: 'nope', newPassword: ADMIN_PASSWORD } });
    expect(wrongCurrent.status).toBe(400);
    expect(wrongCurrent.body.code).toBe('IDRA_ERR_AUTH_WRONG_PASSWORD');

    const changed = await s.call('POST', '/api/v1/auth/password', { token, body: { currentPassword: 'admin', newPassword: ADMIN_PASSWORD } });
    expect(changed.status).toBe(200);
    expect(changed.body.mustChangePassword).toBe(false);
    // The old session ended with the change; the new one works.
    expect((await s.call('GET', '/api/v1/auth/me', { token })).body.code).toBe('IDRA_ERR_AUTH_SESSION_ENDED');
    s.tokens.admin = changed.body.token;
    expect((await s.call('GET', '/api/v1/auth/me', { token: s.tokens.admin })).body).toMatchObject({ name: 'admin', role: 'admin', via: 'session' });
    expect((await s.call('POST', '/api/v1/auth/login', { body: { username: 'admin', password: 'admin' } })).status).toBe(401);
    expect((await s.call('GET', '/api/v1/auth/setup')).body).toEqual({ defaultAdminPassword: false });
  });

  it("never says admin/admin works when the first start's password came from IDRA_ADMIN_PASSWORD, nor after an admin's reset", async () => {
    const chosen = await startTestServer({ adminPassword: ADMIN_PASSWORD }, { users: false });
    try {
      expect((await chosen.call('GET', '/api/v1/auth/setup')).body).toEqual({ defaultAdminPassword: false });
    } finally {
      await chosen.close();
    }
    // Reset by another admin to a password of their choosing: flagged for a change, but not admin/admin.
    const other = await s.call('POST', '/api/v1/users', {
      token: s.tokens.admin,
      body: { name: 'root2', password: USER_PASSWORD, role: 'admin', mustChangePassword: false },
    });
    expect(other.status).toBe(201);
    const root2 = (await s.call('POST', '/api/v1/auth/login', { body: { username: 'root2', password: USER_PASSWORD } })).body.token as string;
    const reset = await s.call('PATCH', '/api/v1/users/admin', { token: root2, body: { password: 'Temp-Pa55word-1', mustChangePassword: true } });
    expect(reset.status).toBe(200);
    expect((await s.call('GET', '/api/v1/auth/setup')).body).toEqual({ defaultAdminPassword: false });
    const back = await s.call('PATCH', '/api/v1/users/admin', { token: root2, body: { password: ADMIN_PASSWORD, mustChangePassword: false } });
    expect(back.status).toBe(200);
    s.tokens.admin = (await s.call('POST', '/api/v1/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } })).body.token;
    expect((await s.call('DELETE', '/api/v1/users/root2', { token: s.tokens.admin })).status).toBe(204);
  });

  it('refuses missing, malformed and forged credentials with 401', async () => {
    expect((await s.call('GET', '/api/v1/syncs')).body.code).toBe('IDRA_ERR_AUTH_REQUIRED');
    expect((await s.call('GET', '/api/v1/syncs', { headers: { authorization: 'Basic abc' } })).status).toBe(401);
    expect((await s.call('GET', '/api/v1/syncs', { token: 'not.a.jwt' })).body.code).toBe('IDRA_ERR_AUTH_TOKEN_INVALID');
    const [h, p] = s.tokens.admin.split('.');
    expect((await s.call('GET', '/api/v1/syncs', { token: `${h}.${p}.forgedsignature` })).status).toBe(401);
    expect((await s.call('GET', '/api/v1/syncs', { token: `idra_${'0'.repeat(16)}_${'a'.repeat(43)}` })).body.code).toBe('IDRA_ERR_AUTH_TOKEN_REVOKED');
  });

  it('manages users (admin only), new users change their password first, and the last admin stays', async () => {
    const admin = s.tokens.admin;
    const created = await s.call('POST', '/api/v1/users', { token: admin, body: { name: 'alice', password: USER_PASSWORD, role: 'operator' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'alice', role: 'operator', mustChangePassword: true });
    expect((await s.call('POST', '/api/v1/users', { token: admin, body: { name: 'alice', password: USER_PASSWORD, role: 'viewer' } })).status).toBe(409);
    const alice = (await s.call('POST', '/api/v1/auth/login', { body: { username: 'alice', password: USER_PASSWORD } })).body;
    expect(alice.mustChangePassword).toBe(true);
    const changed = await s.call('POST', '/api/v1/auth/password', {
      token: alice.token,
      body: { currentPassword: USER_PASSWORD, newPassword: 'Alice-New-Pa55' },
    });
    const aliceToken = changed.body.token as string;
    expect((await s.call('GET', '/api/v1/users', { token: aliceToken })).status).toBe(403);
    expect((await s.call('GET', '/api/v1/users/alice', { token: aliceToken })).body.name).toBe('alice');
    expect((await s.call('GET', '/api/v1/users/admin', { token: aliceToken })).status).toBe(403);
    expect((await s.call('POST', '/api/v1/users', { token: aliceToken, body: { name: 'mallory', password: USER_PASSWORD, role: 'admin' } })).status).toBe(403);

    const list = await s.call('GET', '/api/v1/users', { token: admin });
    expect(list.body.map((u: { name: string }) => u.name)).toEqual(['admin', 'alice']);
    expect(JSON.stringify(list.body)).not.toMatch(/scrypt|passwordHash/);

    // Demoting alice ends her sessions.
    const patched = await s.call('PATCH', '/api/v1/users/alice', { token: admin, body: { role: 'viewer' } });
    expect(patched.body.role).toBe('viewer');
    expect((await s.call('GET', '/api/v1/auth/me', { token: aliceToken })).status).toBe(401);
    expect((await s.call('PATCH', '/api/v1/users/admin', { token: admin, body: { role: 'viewer' } })).body.code).toBe('IDRA_ERR_USER_LAST_ADMIN');
    expect((await s.call('DELETE', '/api/v1/users/admin', { token: admin })).status).toBe(409);
    expect((await s.call('PATCH', '/api/v1/users/alice', { token: admin, body: {} })).status).toBe(400);
    expect((await s.call('DELETE', '/api/v1/users/alice', { token: admin })).status).toBe(204);
    expect((await s.call('DELETE', '/api/v1/users/alice', { token: admin })).status).toBe(404);
  });

  it('refresh gives a new session; logout ends every session of the user', async () => {
    const login = (await s.call('POST', '/api/v1/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } })).body;
    const refreshed = await s.call('POST', '/api/v1/auth/refresh', { token: login.token });
    expect(refreshed.status).toBe(200);
    expect(typeof refreshed.body.token).toBe('string');
    expect((await s.call('POST', '/api/v1/auth/logout', { token: refreshed.body.token })).status).toBe(204);
    expect((await s.call('GET', '/api/v1/auth/me', { token: refreshed.body.token })).body.code).toBe('IDRA_ERR_AUTH_SESSION_ENDED');
    expect((await s.call('GET', '/api/v1/auth/me', { token: s.tokens.admin })).status).toBe(401);
    s.tokens.admin = (await s.call('POST', '/api/v1/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } })).body.token;
  });

  it('API tokens: shown once, stored hashed, role-limited, last use recorded, revoked → 401', async () => {
    const admin = s.tokens.admin;
    await s.call('POST', '/api/v1/users', { token: admin, body: { name: 'ci-owner', password: USER_PASSWORD, role: 'operator', mustChangePassword: false } });
    const ops = (await s.call('POST', '/api/v1/auth/login', { body: { username: 'ci-owner', password: USER_PASSWORD } })).body.token;
    expect((await s.call('POST', '/api/v1/tokens', { token: ops, body: { name: 'too-strong', role: 'admin' } })).status).toBe(403);
    const created = await s.call('POST', '/api/v1/tokens', { token: ops, body: { name: 'ci-deploy' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'ci-deploy', role: 'operator', owner: 'ci-owner', lastUsedAt: null });
    const secret = created.body.token as string;
    expect(secret).toMatch(/^idra_[a-f0-9]{16}_/);

    // Stored as a hash only.
    const raw = await s.app.idra.etcd.ns.get(`tokens/${created.body.id}`).string();
    expect(raw).not.toContain(secret);
    expect(raw).not.toContain(secret.slice(-43));

    const me = await s.call('GET', '/api/v1/auth/me', { token: secret });
    expect(me.body).toMatchObject({ name: 'ci-owner', role: 'operator', via: 'api-token', tokenId: created.body.id });
    expect((await s.call('POST', '/api/v1/syncs/validate', { token: secret, body: { id: 'x' } })).status).toBe(400);
    expect((await s.call('GET', '/api/v1/users', { token: secret })).status).toBe(403);
    const deadline = Date.now() + 10_000;
    let listed: Array<{ id: string; lastUsedAt: string | null; token?: string }> = [];
    while (Date.now() < deadline) {
      listed = (await s.call('GET', '/api/v1/tokens', { token: ops })).body;
      if (listed[0]?.lastUsedAt) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(listed).toHaveLength(1);
    expect(listed[0]!.lastUsedAt).not.toBeNull();
    expect(listed[0]!.token).toBeUndefined();
    // Others' tokens are invisible to non-admins, visible to admins.
    expect((await s.call('GET', '/api/v1/tokens', { token: admin })).body.some((t: { id: string }) => t.id === created.body.id)).toBe(true);

    expect((await s.call('DELETE', `/api/v1/tokens/${created.body.id}`, { token: ops })).status).toBe(204);
    const after = await s.call('GET', '/api/v1/syncs', { token: secret });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('IDRA_ERR_AUTH_TOKEN_REVOKED');

    // Deleting a user revokes their tokens.
    const second = (await s.call('POST', '/api/v1/tokens', { token: ops, body: { name: 'second', role: 'viewer' } })).body;
    expect((await s.call('GET', '/api/v1/syncs', { token: second.token })).status).toBe(200);
    expect((await s.call('POST', '/api/v1/syncs', { token: second.token, body: {} })).status).toBe(403);
    await s.call('DELETE', '/api/v1/users/ci-owner', { token: admin });
    expect((await s.call('GET', '/api/v1/syncs', { token: second.token })).status).toBe(401);
  });

  it('rate-limits logins per IP and user name', async () => {
    const limited = await startTestServer({ loginRateLimit: 3 }, { users: false });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++)
        statuses.push((await limited.call('POST', '/api/v1/auth/login', { body: { username: 'admin', password: `guess-${i}` } })).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const r = await limited.call('POST', '/api/v1/auth/login', { body: { username: 'admin', password: 'admin' } });
      expect(r.body.code).toBe('IDRA_ERR_AUTH_RATE_LIMITED');
      // Another user name from the same address is counted apart.
      expect((await limited.call('POST', '/api/v1/auth/login', { body: { username: 'other', password: 'x' } })).status).toBe(401);
    } finally {
      await limited.close();
    }
  });
});
