import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, USER_PASSWORD, startTestServer, type TestServer } from '../testing/harness.ts';

/** Attacks on credentials that outlive what their user may do: each must lose its power at once. */
describe('credentials lose their power as soon as their user does', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s.close());

  const login = async (username: string, password = USER_PASSWORD) => {
    const r = await s.call('POST', '/api/v1/auth/login', { body: { username, password } });
    expect(r.status, r.text).toBe(200);
    return r.body.token as string;
  };
  const createUser = async (name: string, role: string) => {
    const r = await s.call('POST', '/api/v1/users', { token: s.tokens.admin, body: { name, password: USER_PASSWORD, role, mustChangePassword: false } });
    expect(r.status, r.text).toBe(201);
  };
  const createToken = async (session: string, name: string, role?: string) => {
    const r = await s.call('POST', '/api/v1/tokens', { token: session, body: { name, ...(role ? { role } : {}) } });
    expect(r.status, r.text).toBe(201);
    return r.body as { id: string; token: string };
  };

  it("caps an API token at its owner's current role: a demoted admin's token is no admin", async () => {
    await createUser('admin2', 'admin');
    const token = (await createToken(await login('admin2'), 'ci-admin', 'admin')).token;
    expect((await s.call('GET', '/api/v1/auth/me', { token })).body.role).toBe('admin');

    expect((await s.call('PATCH', '/api/v1/users/admin2', { token: s.tokens.admin, body: { role: 'viewer' } })).status).toBe(200);
    const me = await s.call('GET', '/api/v1/auth/me', { token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ name: 'admin2', role: 'viewer', via: 'api-token' });
    const mint = await s.call('POST', '/api/v1/users', { token, body: { name: 'mallory', password: USER_PASSWORD, role: 'admin', mustChangePassword: false } });
    expect(mint.status).toBe(403);
    const promote = await s.call('PATCH', '/api/v1/users/admin2', { token, body: { role: 'admin' } });
    expect(promote.status).toBe(403);
    expect((await s.call('GET', '/api/v1/users/admin2', { token: s.tokens.admin })).body.role).toBe('viewer');
    expect((await s.call('GET', '/api/v1/users/mallory', { token: s.tokens.admin })).status).toBe(404);
  });

  it('binds sessions and tokens to a user id that is never reused: a re-created name does not revive them', async () => {
    await createUser('bob', 'viewer');
    const oldSession = await login('bob');
    const oldToken = await createToken(oldSession, 'bob-ci');
    // A deletion that left the token behind (as a concurrent or interrupted delete could).
    await s.app.idra.etcd.ns.delete().key('users/bob').exec();
    await createUser('bob', 'admin');

    const viaSession = await s.call('GET', '/api/v1/users', { token: oldSession });
    expect(viaSession.status).toBe(401);
    expect(viaSession.body.code).toBe('IDRA_ERR_AUTH_USER_UNKNOWN');
    const viaToken = await s.call('GET', '/api/v1/users', { token: oldToken.token });
    expect(viaToken.status).toBe(401);
    // The new bob logs in normally.
    expect((await s.call('GET', '/api/v1/users', { token: await login('bob') })).status).toBe(200);
  });

  it('refuses to let an API token create tokens (a revoked leak would leave children alive)', async () => {
    const session = await login('ops');
    const parent = await createToken(session, 'parent');
    const child = await s.call('POST', '/api/v1/tokens', { token: parent.token, body: { name: 'child' } });
    expect(child.status).toBe(403);
    expect(child.body.code).toBe('IDRA_ERR_AUTH_SESSION_REQUIRED');
    expect((await s.call('GET', '/api/v1/tokens', { token: session })).body.map((t: { name: string }) => t.name)).toEqual(['parent']);
  });

  it("an admin's password reset can revoke the user's tokens too", async () => {
    await createUser('carol', 'operator');
    const kept = await createToken(await login('carol'), 'kept');
    const reset = await s.call('PATCH', '/api/v1/users/carol', { token: s.tokens.admin, body: { password: 'Reset-Pa55word', mustChangePassword: false } });
    expect(reset.status).toBe(200);
    expect((await s.call('GET', '/api/v1/syncs', { token: kept.token })).status).toBe(200);
    const doomed = await createToken(await login('carol', 'Reset-Pa55word'), 'doomed');
    const revoking = await s.call('PATCH', '/api/v1/users/carol', { token: s.tokens.admin, body: { password: 'Reset-Again-Pa55', revokeTokens: true } });
    expect(revoking.status).toBe(200);
    for (const t of [kept, doomed]) expect((await s.call('GET', '/api/v1/syncs', { token: t.token })).status).toBe(401);
  });

  it('keeps users and tokens stored before ids existed working: an id is given on first load', async () => {
    const ns = s.app.idra.etcd.ns;
    await createUser('legacy', 'operator');
    const token = await createToken(await login('legacy'), 'legacy-ci');
    const user = JSON.parse((await ns.get('users/legacy').string())!);
    const tokenRecord = JSON.parse((await ns.get(`tokens/${token.id}`).string())!);
    delete user.id;
    delete tokenRecord.ownerId;
    await ns.put('users/legacy').value(JSON.stringify(user));
    await ns.put(`tokens/${token.id}`).value(JSON.stringify(tokenRecord));

    expect((await s.call('GET', '/api/v1/auth/me', { token: token.token })).body).toMatchObject({ name: 'legacy', role: 'operator' });
    const migrated = JSON.parse((await ns.get('users/legacy').string())!);
    expect(migrated.id).toMatch(/^[a-f0-9]{16}$/);
    expect(JSON.parse((await ns.get(`tokens/${token.id}`).string())!).ownerId).toBe(migrated.id);
    expect((await s.call('GET', '/api/v1/auth/me', { token: await login('legacy') })).body.name).toBe('legacy');
  });

  it('answers /auth/me during a forced password change', async () => {
    const r = await s.call('POST', '/api/v1/users', { token: s.tokens.admin, body: { name: 'newbie', password: USER_PASSWORD, role: 'viewer' } });
    expect(r.body.mustChangePassword).toBe(true);
    const session = await login('newbie');
    const me = await s.call('GET', '/api/v1/auth/me', { token: session });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ name: 'newbie', mustChangePassword: true });
    expect((await s.call('GET', '/api/v1/syncs', { token: session })).status).toBe(403);
  });

  it('rate-limits guesses of the current password like logins', async () => {
    const limited = await startTestServer({ loginRateLimit: 3 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await limited.call('POST', '/api/v1/auth/password', {
          token: limited.tokens.viewer,
          body: { currentPassword: `guess-${i}`, newPassword: 'Whatever-Pa55' },
        });
        statuses.push(r.status);
      }
      expect(statuses).toEqual([400, 400, 400, 429, 429]);
      const right = await limited.call('POST', '/api/v1/auth/password', {
        token: limited.tokens.viewer,
        body: { currentPassword: USER_PASSWORD, newPassword: 'Whatever-Pa55' },
      });
      expect(right.body.code).toBe('IDRA_ERR_AUTH_RATE_LIMITED');
      // Another user is counted apart.
      const other = await limited.call('POST', '/api/v1/auth/password', {
        token: limited.tokens.operator,
        body: { currentPassword: 'wrong', newPassword: 'Whatever-Pa55' },
      });
      expect(other.status).toBe(400);
    } finally {
      await limited.close();
    }
  });

  describe('an open /events stream ends when its credentials lose their power', () => {
    let base: string;
    beforeAll(async () => {
      base = await s.app.listen({ host: '127.0.0.1', port: 0 });
    });

    /** Opens the stream; `ended` settles when the server closes it. */
    const openStream = async (token: string) => {
      const abort = new AbortController();
      const res = await fetch(`${base}/api/v1/events`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const ended = (async () => {
        let text = '';
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return text;
          text += Buffer.from(value).toString();
        }
      })();
      return { ended, abort };
    };
    /** True when the stream ended within the deadline (it stays open otherwise). */
    const endsWithin = async (stream: Awaited<ReturnType<typeof openStream>>, ms: number) => {
      const timeout = new Promise<false>((r) => setTimeout(() => r(false), ms));
      const ended = await Promise.race([
        stream.ended.then(
          () => true as const,
          () => true as const,
        ),
        timeout,
      ]);
      stream.abort.abort();
      return ended;
    };

    it('on token revocation', async () => {
      const token = await createToken(await login('ops'), 'events-revoked');
      const stream = await openStream(token.token);
      expect((await s.call('DELETE', `/api/v1/tokens/${token.id}`, { token: s.tokens.admin })).status).toBe(204);
      expect(await endsWithin(stream, 10_000)).toBe(true);
    });

    it('on logout', async () => {
      await createUser('eve', 'viewer');
      const session = await login('eve');
      const stream = await openStream(session);
      expect((await s.call('POST', '/api/v1/auth/logout', { token: await login('eve') })).status).toBe(204);
      expect(await endsWithin(stream, 10_000)).toBe(true);
    });

    it("on the owner's demotion and deletion", async () => {
      await createUser('dave', 'operator');
      const session = await login('dave');
      const token = await createToken(session, 'dave-ci');
      const viaSession = await openStream(session);
      const viaToken = await openStream(token.token);
      expect((await s.call('PATCH', '/api/v1/users/dave', { token: s.tokens.admin, body: { role: 'viewer' } })).status).toBe(200);
      expect(await endsWithin(viaSession, 10_000)).toBe(true);
      expect(await endsWithin(viaToken, 10_000)).toBe(true);

      const again = await openStream(token.token);
      expect((await s.call('DELETE', '/api/v1/users/dave', { token: s.tokens.admin })).status).toBe(204);
      expect(await endsWithin(again, 10_000)).toBe(true);
    });

    it('stays open while nothing about its credentials changes', async () => {
      const stream = await openStream(await login('view'));
      await createUser('unrelated', 'viewer');
      expect(await endsWithin(stream, 1_500)).toBe(false);
    });
  });

  it('keeps the admin able to work after all of this', async () => {
    expect((await s.call('GET', '/api/v1/users', { token: await login('admin', ADMIN_PASSWORD) })).status).toBe(200);
  });
});
