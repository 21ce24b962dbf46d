import { describe, expect, it } from 'vitest';
import {
  SECRET_MASK,
  SecretBox,
  hasSecrets,
  isSealed,
  maskSecrets,
  openSecrets,
  restoreMaskedSecrets,
  scrubSecrets,
  sealSecrets,
  secretValues,
} from './secrets.ts';

const box = new SecretBox('core-secrets-test-key-0123456789');
const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n';

/** A sync endpoint with a credential in every place the rule covers. */
const endpoint = {
  connector: 'http',
  connection: {
    url: 'https://api.example.com/v1/?access_token=Tok-In-Url-1111&page=2',
    user: 'reader',
    password: 'Conn-Pa55-2222',
    options: {
      ssl: { key: PEM, cert: '-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n', rejectUnauthorized: true },
      sasl: { credentials: { id: 'Nested-3333' } },
    },
  },
  url: '/items?api_key=Key-In-Path-4444&limit=10',
  options: {
    headers: { 'X-API-Key': 'Header-Key-5555', Authorization: 'Bearer Header-Bearer-6666', 'X-Tenant': 'Tenant-7777', Accept: 'application/json' },
    params: { api_key: 'Param-Key-8888', token: 'Param-Token-9999', region: 'eu' },
    columnTypes: { token: 'text', password_hash: 'text' },
    itemsPath: 'data.items',
  },
};
const SECRETS = [
  'Tok-In-Url-1111',
  'Conn-Pa55-2222',
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
  'Nested-3333',
  'Key-In-Path-4444',
  'Header-Key-5555',
  'Header-Bearer-6666',
  'Tenant-7777',
  'Param-Key-8888',
  'Param-Token-9999',
];

describe('what is secret: one rule, at any depth', () => {
  it('masks credentials by name, every header but the plain ones, PEM keys and the secret parts of URLs', () => {
    const masked = maskSecrets(endpoint);
    const text = JSON.stringify(masked);
    for (const s of SECRETS) expect(text, s).not.toContain(s);
    expect(masked.connection.url).toBe(`https://api.example.com/v1/?access_token=${encodeURIComponent(SECRET_MASK)}&page=2`);
    // A path with a query string (an HTTP endpoint's url) is read as a URL too.
    expect(masked.url).toBe(`/items?api_key=${encodeURIComponent(SECRET_MASK)}&limit=10`);
    expect(masked.options.headers).toEqual({ 'X-API-Key': SECRET_MASK, Authorization: SECRET_MASK, 'X-Tenant': SECRET_MASK, Accept: 'application/json' });
    expect(masked.options.params).toEqual({ api_key: SECRET_MASK, token: SECRET_MASK, region: 'eu' });
    expect(masked.connection.options.ssl).toMatchObject({ key: SECRET_MASK, rejectUnauthorized: true });
    expect(masked.connection.options.ssl.cert).toContain('BEGIN CERTIFICATE');
    // Column names are data, not settings.
    expect(masked.options.columnTypes).toEqual({ token: 'text', password_hash: 'text' });
    expect(masked.connection.user).toBe('reader');
  });

  it('seals every credential for etcd, opens them back, and masks sealed ones without the key', () => {
    const sealed = sealSecrets(endpoint, box);
    const text = JSON.stringify(sealed);
    for (const s of SECRETS) expect(text, s).not.toContain(s);
    expect(isSealed(sealed.connection.url)).toBe(true);
    expect(isSealed(sealed.options.headers['X-Tenant'])).toBe(true);
    expect(sealed.options.headers.Accept).toBe('application/json');
    expect(openSecrets(sealed, box)).toEqual(endpoint);
    expect(maskSecrets(sealed, box)).toEqual(maskSecrets(endpoint));
    expect(maskSecrets(sealed).connection.url).toBe(SECRET_MASK);
    expect(hasSecrets(sealed)).toBe(true);
    expect(hasSecrets({ connection: { host: 'db', options: { poolSize: 2 } } })).toBe(false);
  });

  it("the endpoint URL's query credentials are secret too", () => {
    const withToken = { ...endpoint, url: 'https://other.example.com/items?access_token=Abs-Url-Token-1234' };
    expect(maskSecrets(withToken).url).toBe(`https://other.example.com/items?access_token=${encodeURIComponent(SECRET_MASK)}`);
    expect(isSealed(sealSecrets(withToken, box).url)).toBe(true);
  });

  it('scrubs whole occurrences of secrets of meaningful length only', () => {
    const values = secretValues(endpoint);
    for (const s of SECRETS.filter((x) => !x.startsWith('MIIE'))) expect(values, s).toContain(s);
    expect(scrubSecrets('auth failed for Conn-Pa55-2222 at https://x/?access_token=Tok-In-Url-1111', values)).toBe(
      `auth failed for ${SECRET_MASK} at https://x/?access_token=${SECRET_MASK}`,
    );
    // A password that is part of a word, or too short to mean anything, leaves the text readable.
    expect(scrubSecrets('server closed the connection unexpectedly', ['expect', 'e'])).toBe('server closed the connection unexpectedly');
    expect(scrubSecrets('password "expect" is wrong', ['expect'])).toBe(`password "${SECRET_MASK}" is wrong`);
  });
});

describe('a masked secret is only re-used for the same target', () => {
  const stored = {
    connector: 'postgres',
    connection: sealSecrets({ host: 'db.internal', port: 5432, database: 'shop', user: 'idra', password: 'Stored-Pa55', options: { poolSize: 4 } }, box),
  };
  const shown = maskSecrets(stored, box);

  it('keeps the stored secret when nothing says it goes elsewhere (tuning options may change)', () => {
    const { value, issues } = restoreMaskedSecrets({ ...shown, connection: { ...shown.connection, options: { poolSize: 8 } } }, stored, box);
    expect(issues).toEqual([]);
    expect(openSecrets(value, box).connection.password).toBe('Stored-Pa55');
  });

  it.each([
    ['host', { host: 'attacker.example' }],
    ['port', { port: 6543 }],
    ['database', { database: 'other' }],
    ['user', { user: 'postgres' }],
    ['ssl', { ssl: false }],
    ['options.ssl.rejectUnauthorized', { options: { poolSize: 4, ssl: { rejectUnauthorized: false } } }],
  ])('refuses the mask when %s changes, naming it', (field, change) => {
    const { issues } = restoreMaskedSecrets({ ...shown, connection: { ...shown.connection, ...change } }, stored, box, 'connectionUnderTest');
    expect(issues[0]).toMatchObject({ kind: 'target-changed', path: `connectionUnderTest.connection.${field}` });
    expect(issues[0]!.message).toMatch(new RegExp(`re-enter the secret to change the ${field.replace(/\./g, '\\.')}`));
  });

  it('refuses a masked URL password sent to another host, and a new connector kind', () => {
    const urlStored = { connector: 'postgres', connection: sealSecrets({ url: 'postgres://idra:Url-Pa55@db.internal:5432/shop' }, box) };
    const urlShown = maskSecrets(urlStored, box);
    expect(urlShown.connection.url).toBe(`postgres://idra:${SECRET_MASK}@db.internal:5432/shop`);
    const moved = restoreMaskedSecrets({ connector: 'postgres', connection: { url: `postgres://idra:${SECRET_MASK}@attacker:5432/shop` } }, urlStored, box);
    expect(moved.issues[0]).toMatchObject({ kind: 'target-changed', path: 'connection.url' });
    const sameUrl = restoreMaskedSecrets(urlShown, urlStored, box);
    expect(openSecrets(sameUrl.value, box).connection.url).toBe('postgres://idra:Url-Pa55@db.internal:5432/shop');
    expect(restoreMaskedSecrets({ ...urlShown, connector: 'mysql' }, urlStored, box).issues[0]!.path).toBe('connector');
    // A query parameter added to the URL can redirect a driver (?host=): it counts too.
    expect(restoreMaskedSecrets({ ...urlShown, connection: { url: `${urlShown.connection.url}?host=attacker` } }, urlStored, box).issues[0]!.path).toBe(
      'connection.url',
    );
  });

  it('an OAuth2 data source: the client secret is sealed, the token endpoint readable, and the secret kept only while that endpoint stays', () => {
    const connection = {
      url: 'https://api.example.com/',
      user: 'client-1',
      password: 'Client-Secret-77',
      options: { tokenUrl: 'https://login.example.com/oauth/token', scope: 'items:read' },
    };
    const oauthStored = { connector: 'http', connection: sealSecrets(connection, box) };
    expect(JSON.stringify(oauthStored)).not.toContain('Client-Secret-77');
    expect(oauthStored.connection.options).toEqual(connection.options);
    const oauthShown = maskSecrets(oauthStored, box);
    expect(oauthShown.connection.password).toBe(SECRET_MASK);
    const kept = restoreMaskedSecrets(oauthShown, oauthStored, box);
    expect(openSecrets(kept.value, box).connection.password).toBe('Client-Secret-77');
    const moved = { ...oauthShown, connection: { ...oauthShown.connection, options: { ...connection.options, tokenUrl: 'https://attacker.example/token' } } };
    expect(restoreMaskedSecrets(moved, oauthStored, box).issues[0]).toMatchObject({ kind: 'target-changed', path: 'connection.options.tokenUrl' });
  });

  it('says when nothing is stored behind a mask', () => {
    expect(restoreMaskedSecrets({ connector: 'postgres', connection: { host: 'db', password: SECRET_MASK } }, undefined, box).issues).toEqual([
      { kind: 'no-secret', path: 'connection.password', message: `is the mask '${SECRET_MASK}' but no secret is stored for it: send the real value` },
    ]);
  });
});
