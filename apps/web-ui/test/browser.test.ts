import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual as equal } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { IdraClient } from '@idra/api-client';
import { createDatabase, createPostgresRole, freePort, tempDir, until } from '@idra/testkit';
import { startWebServer } from '../../../scripts/stack/web-server.ts';

const UI_ROOT = resolve(import.meta.dirname, '..');
const REPO = resolve(UI_ROOT, '../..');
const DIST = join(UI_ROOT, 'dist');
const SCREENSHOTS = join(REPO, 'test-artifacts/screenshots');
const SECRET_KEY = 'web-ui-test-secret-key-0123456789';
const NEW_ADMIN_PASSWORD = 'Adm1n-Br0wser-Test';
const VIEWER_PASSWORD = 'V1ewer-Br0wser-Test';
const SOURCE_ROWS = 500;
/** Actions that wait on an agent (rows copied, pause) get this long: the machine is small and shared. */
const SLOW = 60_000;

/** A Node process of this repository (API server, agent, Vite) with its output kept for failure messages. */
class NodeProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output = '';

  constructor(main: string, args: string[], env: Record<string, string>, cwd = REPO) {
    this.child = spawn(process.execPath, [main, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-20_000);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((r) => this.child.on('exit', (code) => r(code)));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      await this.exited;
    }
  }
}

/** The newest modification time under a path. */
async function newest(path: string): Promise<number> {
  const s = await stat(path);
  if (!s.isDirectory()) return s.mtimeMs;
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  const times = await Promise.all(entries.filter((e) => e.isFile()).map(async (e) => (await stat(join(e.parentPath, e.name))).mtimeMs));
  return Math.max(s.mtimeMs, ...times);
}

/** Builds the UI with Vite when dist is missing or older than a source (a test run must see the current code). */
async function buildIfStale(): Promise<void> {
  const built = await stat(join(DIST, 'index.html')).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  const sources = await Promise.all(['src', 'public', 'index.html', 'vite.config.ts', 'package.json'].map((p) => newest(join(UI_ROOT, p))));
  // The packages the UI bundles: the API client, and core's browser-safe parts (sync defaults, health, the overview query).
  const packages = await Promise.all(['packages/api-client/src', 'packages/core/src'].map((p) => newest(join(REPO, p))));
  if (built > Math.max(...sources, ...packages)) return;
  // A child process: under vitest NODE_ENV is 'test', which would give React's development build.
  const vite = new NodeProcess(join(UI_ROOT, 'node_modules/vite/bin/vite.js'), ['build', '--logLevel', 'warn'], { NODE_ENV: 'production' }, UI_ROOT);
  if ((await vite.exited) !== 0) throw new Error(`vite build failed:\n${vite.output}`);
}

/**
 * A full-page capture draws a sticky element (the sync form's footer) where it sits in the viewport, over the
 * fields there: scrolled to the end, it sits in its own place after them.
 */
async function fullPage(page: Page, path: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await page.screenshot({ path, fullPage: true });
}

async function shot(page: Page, name: string): Promise<void> {
  await fullPage(page, join(SCREENSHOTS, `${name}.png`));
}

const DOC_SHOTS = join(REPO, 'docs/screenshots');

/** The README's screenshots: the screen at 1440 px and at 390 px (a phone), then back. */
async function docShots(page: Page, name: string): Promise<void> {
  await mkdir(DOC_SHOTS, { recursive: true });
  const before = page.viewportSize()!;
  for (const [width, height] of [
    [1440, 900],
    [390, 844],
  ] as const) {
    await page.setViewportSize({ width, height });
    await page.waitForTimeout(300); // layout settles (no condition to wait for: a resize has no event the page exposes)
    // Nothing may scroll sideways on a phone.
    if (width === 390) expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await fullPage(page, join(DOC_SHOTS, `${name}-${width}.png`));
  }
  await page.setViewportSize(before);
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's WCAG 2.1 AA rules on the page as it is: no violation allowed. */
async function expectAccessible(page: Page, what: string): Promise<void> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(o: unknown): Promise<{ violations: Array<{ id: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
    const r = await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  expect(violations, `axe on ${what}`).toEqual([]);
}

/** Waits until a locator's text matches. */
async function waitForText(locator: Locator, expected: RegExp, timeoutMs = SLOW): Promise<string> {
  return until(
    `text ${expected} in ${locator}`,
    async () => {
      const text =
        (await locator
          .first()
          .textContent()
          .catch(() => null)) ?? '';
      return expected.test(text) ? text : undefined;
    },
    timeoutMs,
  );
}

/** The value shown for a fact (`<dt>label</dt><dd>value</dd>`) on a detail screen. */
function fact(page: Page, label: string): Locator {
  return page
    .locator('.facts > div')
    .filter({ has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) })
    .locator('dd');
}

describe('web UI in Chromium against a real API server and agent', { timeout: 150_000 }, () => {
  const prefix = `/web-ui-test-${randomBytes(4).toString('hex')}/`;
  const endpoints = inject('etcdEndpoints');
  let dir: string;
  let api: NodeProcess;
  let startApi: () => NodeProcess;
  let startAgent: (id: string) => NodeProcess;
  let agent: NodeProcess;
  let web: Server;
  let baseUrl: string;
  let apiUrl: string;
  let browser: Browser;
  let page: Page;
  /** An admin session of the test itself, for setup the screens do not cover. */
  let admin: IdraClient;

  beforeAll(async () => {
    dir = await tempDir('idra-web-ui-');
    await mkdir(SCREENSHOTS, { recursive: true });
    const source = new Database(join(dir, 'source.db'));
    source.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount REAL NOT NULL, updated_at TEXT NOT NULL)');
    const insert = source.prepare('INSERT INTO orders (id, customer, amount, updated_at) VALUES (?, ?, ?, ?)');
    source.transaction(() => {
      for (let i = 1; i <= SOURCE_ROWS; i++) insert.run(i, `customer-${i % 37}`, i * 1.25, new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString());
    })();
    source.close();

    const apiPort = await freePort();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    // The SQLite files of the test live in its temporary directory: the only one open to them.
    const env = {
      IDRA_SECRET_KEY: SECRET_KEY,
      IDRA_JWT_SECRET: 'web-ui-test-jwt-secret-0123456789',
      IDRA_LOGIN_RATE_LIMIT: '1000',
      IDRA_LOG_FORMAT: 'json',
      IDRA_SQLITE_ROOTS: dir,
    };
    startApi = () =>
      new NodeProcess(
        join(REPO, 'apps/api-server/src/main.ts'),
        ['--etcd', endpoints.join(','), '--prefix', prefix, '--host', '127.0.0.1', '--port', String(apiPort), '--log-level', 'warn'],
        env,
      );
    api = startApi();
    startAgent = (id) =>
      new NodeProcess(
        join(REPO, 'apps/agent/src/main.ts'),
        ['--etcd', endpoints.join(','), '--prefix', prefix, '--agent-id', id, '--labels', 'zone=local', '--log-level', 'warn', '--progress-interval', '1s'],
        env,
      );
    agent = startAgent('ui-agent-1');

    const [, launched] = await Promise.all([
      buildIfStale(),
      chromium.launch({
        executablePath: process.env.IDRA_TEST_CHROMIUM ?? '/usr/bin/chromium',
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      }),
      until('the API server to answer', () =>
        fetch(`${apiUrl}/readyz`).then(
          (r) => r.ok,
          () => false,
        ),
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${api.output}`);
      }),
    ]);
    browser = launched;
    web = await startWebServer({ root: DIST, port: 0, host: '127.0.0.1', apiUrl });
    const address = web.address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.setDefaultTimeout(20_000);
  });

  // What the page showed when a step failed, next to the screens' screenshots.
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await shot(page, `failed-${task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => undefined);
  });

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await api?.stop();
    await new Promise((r) => (web ? web.close(r) : r(undefined)));
  });

  it('logs in as admin/admin, forces a password change, then shows the dashboard', async () => {
    await page.goto(`${baseUrl}/`);
    await page.getByRole('heading', { name: 'Log in to Idra' }).waitFor();
    // While admin/admin works, the login page says so (the API tells it; it is gone once changed: last test).
    await page.getByText('A new installation has the user admin with the password admin').waitFor();
    await shot(page, '01-login');
    await expectAccessible(page, 'the login');
    await page.getByLabel('User name', { exact: true }).fill('admin');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'wrong user name or password' }).waitFor();
    await page.getByLabel('Password').fill('admin');
    await page.getByRole('button', { name: 'Log in' }).click();

    await page.getByRole('heading', { name: 'Choose a new password, admin' }).waitFor();
    await page.getByLabel('Current password').fill('admin');
    await page.getByLabel('New password', { exact: true }).fill(NEW_ADMIN_PASSWORD);
    await page.getByLabel('New password again').fill(NEW_ADMIN_PASSWORD);
    await shot(page, '02-change-password');
    await page.getByRole('button', { name: 'Change password' }).click();

    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.locator('.health-line').getByText('healthy', { exact: true }).waitFor();
    await waitForText(page.locator('.health-line'), /leader agent: ui-agent-1/);

    admin = new IdraClient({ baseUrl: apiUrl });
    await admin.auth.login('admin', NEW_ADMIN_PASSWORD);
  });

  it('creates a data source and tests its connection', async () => {
    await admin.dataSources.create({ id: 'warehouse', connector: 'sqlite', connection: { file: join(dir, 'warehouse.db') } });
    await page.getByRole('link', { name: 'Data sources' }).click();
    await page.getByRole('button', { name: 'New data source' }).click();
    const dialog = page.getByRole('dialog', { name: 'New data source' });
    await dialog.getByLabel('Connector', { exact: true }).selectOption('sqlite');
    await dialog.getByLabel('Database file', { exact: true }).fill(join(dir, 'source.db'));
    // Saved without an id: said plainly, under the Id field.
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.locator('.field.has-error').filter({ hasText: 'Id' }).getByText('give it an id: letters, digits, _ . -').waitFor();
    expect(await dialog.getByText(/must match|invalid request body/).count()).toBe(0);
    // A connection is tried before it has an id, and a check that passes leaves no earlier error behind.
    await dialog.getByRole('button', { name: 'Test connection' }).click();
    await dialog.getByText(/Connected \(sqlite/).waitFor();
    expect(await dialog.locator('.field.has-error, .error-note').count()).toBe(0);
    await dialog.getByLabel('Id', { exact: true }).fill('shop');
    await shot(page, '03-data-source-dialog');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });

    const row = page.getByRole('row').filter({ hasText: 'shop' });
    await row.getByRole('button', { name: 'Test connection shop' }).click();
    await row.getByText(/Connected/).waitFor();
    await shot(page, '04-data-sources');
  });

  it('creates a sync with the guided form, validated as typed, and sees its rows arrive', async () => {
    await page.getByRole('link', { name: 'Syncs' }).click();
    await page.getByText('No sync yet').waitFor();
    await page.getByRole('link', { name: 'New sync' }).click();
    await page.getByRole('heading', { name: 'New sync' }).waitFor();

    // The warehouse file exists before the form checks connections (a check opens, never creates, a SQLite file).
    new Database(join(dir, 'warehouse.db')).close();
    // An empty form sent as it is: every problem at once, in plain words, and the keyboard at the first one.
    await page.getByRole('button', { name: 'Create and start' }).click();
    await page.locator('.field.has-error').nth(2).waitFor();
    const idField = await page.getByLabel('Id', { exact: true }).getAttribute('id');
    await until('the keyboard at the first problem', async () => (await page.evaluate(() => document.activeElement?.id)) === idField);
    const problems = await page.locator('.field.has-error .error-text').allTextContents();
    expect(problems.length).toBeGreaterThanOrEqual(3);
    expect(problems.join(' | ')).toMatch(/choose a data source, or write the connection here/);
    expect(problems.join(' | ')).not.toMatch(/or give dataSourceId|must NOT/);
    await docShots(page, 'sync-form-errors');
    await expectAccessible(page, 'the sync form with errors');
    // What the change-log mode needs of the source's server is said once it is chosen, not in its card.
    const needs = page.locator('.mode-needs');
    expect(await needs.count()).toBe(0);
    await page.getByRole('radio', { name: /Change data capture/ }).check();
    await needs.getByText(/wal_level = logical .* binlog_format = ROW/).waitFor();
    await docShots(page, 'sync-form-cdc');
    await page.getByRole('radio', { name: /Increasing id/ }).check();
    await until('the needs of cdc gone with it', async () => (await needs.count()) === 0);

    await page.getByLabel('Id', { exact: true }).fill('orders');
    const source = page.getByRole('group', { name: /^Source/ });
    await source.getByLabel('Connector', { exact: true }).selectOption('sqlite');
    await source.getByLabel('Data source', { exact: true }).selectOption('shop');
    // The data source's tables are offered, and then the chosen table's columns and primary key.
    await page.locator('#source-tables option[value="orders"]').waitFor({ state: 'attached' });
    // A table that does not exist is caught by the check, and saving waits for an acknowledgement.
    await source.getByLabel('Table', { exact: true }).fill('ordres');
    await page.getByRole('button', { name: 'Test connections and tables' }).click();
    await page.getByText("source: table 'ordres' does not exist (there are orders)").waitFor();
    await source.getByLabel('Table', { exact: true }).fill('orders');
    await page.locator('#source-columns option[value="id"]').waitFor({ state: 'attached' });
    await page.getByText("The source table's primary key: id.").waitFor();
    const destination = page.getByRole('group', { name: /^Destination/ });
    await destination.getByLabel('Connector', { exact: true }).selectOption('sqlite');
    await destination.getByLabel('Data source', { exact: true }).selectOption('warehouse');
    await destination.getByLabel('Table', { exact: true }).fill('orders_copy');
    await page.getByLabel('Cursor column', { exact: true }).fill('id');
    await page.getByLabel('Key columns', { exact: true }).fill('id');
    // The server's own message appears under the field as it is typed.
    await page.getByLabel('Batch size', { exact: true }).fill('lots');
    await page.getByLabel('Poll interval', { exact: true }).focus(); // leaving the field asks the server
    await page.locator('.field.has-error').filter({ hasText: 'Batch size' }).getByText('must be a whole number').waitFor();
    await page.getByLabel('Batch size', { exact: true }).fill('100');
    await page.getByLabel('Poll interval', { exact: true }).fill('500ms');
    await page.getByText(/✓ Valid: batches of 100, poll every 500 ms/).waitFor();
    await page.getByRole('button', { name: 'Test connections and tables' }).click();
    await page.getByText(/✓ Connections work; the tables and columns exist/).waitFor();
    await shot(page, '05-sync-form');
    await page.getByRole('button', { name: 'Create and start' }).click();

    await page.getByRole('heading', { name: 'orders', exact: true }).waitFor();
    // The page starts at its top: the navigation stays in view after Create.
    expect(await page.evaluate(() => window.scrollY)).toBe(0);
    await waitForText(fact(page, 'Rows copied'), new RegExp(`^${SOURCE_ROWS}$`));
    await waitForText(fact(page, 'Position'), new RegExp(`id > ${SOURCE_ROWS}`));
    const copied = new Database(join(dir, 'warehouse.db'), { readonly: true });
    expect(copied.prepare('SELECT COUNT(*) AS n FROM orders_copy').get()).toEqual({ n: SOURCE_ROWS });
    copied.close();
    await shot(page, '06-sync-detail');
  });

  it("shows a failing sync's error in the list and on the dashboard", async () => {
    await admin.syncs.create({
      id: 'broken',
      source: { connector: 'sqlite', dataSourceId: 'shop', table: 'missing_table' },
      destination: { connector: 'sqlite', dataSourceId: 'warehouse', table: 'broken_copy' },
      mode: 'id',
      cursorColumn: 'id',
    });
    await page.getByRole('link', { name: 'Syncs' }).click();
    await page.getByRole('button', { name: /^failed/ }).click();
    const row = page.locator('tr[data-sync="broken"]');
    await waitForText(row.locator('.last-error'), /missing_table/);
    // A missing table needs a fix: failed (not a green "running · starting" between attempts), with its attempt count.
    await waitForText(row.locator('.badge'), /^failed · attempt \d+ · next in/);
    await shot(page, '07-sync-list-failing');
    await page.getByRole('button', { name: /^all/ }).click();
    await waitForText(page.locator('tr[data-sync="orders"] .badge'), /healthy/);
    // Problems are listed first.
    expect(await page.locator('tbody tr').first().getAttribute('data-sync')).toBe('broken');
    await shot(page, '08-sync-list');

    await page.getByRole('link', { name: 'Dashboard' }).click();
    await waitForText(page.getByRole('region', { name: 'Recent errors' }), /missing_table/);
    await waitForText(page.locator('.counter').filter({ hasText: 'failed' }), /^1failed$/);
    await shot(page, '09-dashboard');
  });

  it("says up front what a source user that cannot see other sessions' transactions lacks; such a sync is a configuration problem until granted", async () => {
    const db = await createDatabase('postgres', inject('pgUrl'));
    // The test's superuser session stays connected: a session of another role than the source's.
    const superuser = new pg.Client({ connectionString: db.url });
    await superuser.connect();
    await superuser.query("create table src (id bigint primary key, ts timestamp(6) not null default now() - interval '1 minute')");
    await superuser.query('insert into src (id) values (1), (2), (3)');
    const role = await createPostgresRole(db.url, ['src']);
    const grant = `GRANT pg_read_all_stats TO ${role.name}`;
    try {
      await admin.dataSources.create({ id: 'restricted', connector: 'postgres', connection: { url: role.url } });

      await page.getByRole('link', { name: 'Data sources' }).click();
      const row = page.getByRole('row').filter({ hasText: 'restricted' });
      await row.getByRole('button', { name: 'Test connection restricted' }).click();
      await waitForText(row.locator('.warning-note'), new RegExp(`cannot see other sessions' transactions.*To fix it, run ${grant}`));

      await page.getByRole('link', { name: 'Syncs' }).click();
      await page.getByRole('link', { name: 'New sync' }).click();
      await page.getByLabel('Id', { exact: true }).fill('watched');
      const source = page.getByRole('group', { name: /^Source/ });
      await source.getByLabel('Connector', { exact: true }).selectOption('postgres');
      await source.getByLabel('Data source', { exact: true }).selectOption('restricted');
      await source.getByLabel('Table', { exact: true }).fill('src');
      const destination = page.getByRole('group', { name: /^Destination/ });
      await destination.getByLabel('Connector', { exact: true }).selectOption('sqlite');
      await destination.getByLabel('Data source', { exact: true }).selectOption('warehouse');
      await destination.getByLabel('Table', { exact: true }).fill('watched_copy');
      await page.getByLabel('Cursor column', { exact: true }).fill('id');
      await page.getByLabel('Poll interval', { exact: true }).fill('500ms');
      const check = page.getByTestId('source-check');
      await waitForText(check, new RegExp(`This sync would not start.*IDRA_ERR_CONFIG_WATERMARK_BLIND.*Run on the source: ${grant}`));
      await shot(page, '10a-sync-form-source-check');
      await page.getByLabel('Delay', { exact: true }).fill('2s');
      await waitForText(check, /It will run, relying on the delay alone:.*only delayMs \(2000 ms\)/);
      await page.getByLabel('Delay', { exact: true }).fill('');
      await waitForText(check, /This sync would not start/);
      await page.getByRole('button', { name: 'Create and start' }).click();

      // The agent refuses it: a configuration problem, with the statement to run.
      await page.getByRole('heading', { name: 'watched', exact: true }).waitFor();
      const problem = page.getByRole('alert').filter({ hasText: 'Configuration problem' });
      await waitForText(problem, new RegExp(`run ${grant} on the source.*IDRA_ERR_CONFIG_WATERMARK_BLIND.*next attempt (in \\d+ s|now)`));
      await shot(page, '10b-sync-configuration-problem');
      // Granted, it starts at the next check (every 15 s); Retry now checks at once.
      await superuser.query(grant);
      await page.getByRole('button', { name: 'Retry watched now' }).click();
      await waitForText(fact(page, 'Rows copied'), /^3$/);
      // Its agent lets go (and closes its connections) before the database goes.
      await admin.syncs.pause('watched', { wait: true });
      await admin.syncs.delete('watched');
      await admin.dataSources.delete('restricted');
    } finally {
      await role.drop();
      await superuser.end();
      await db.drop();
    }
  });

  it('pauses a sync and changes its offset with a typed confirmation, old → new shown first', async () => {
    await page.goto(`${baseUrl}/syncs/orders`);
    await page.getByRole('button', { name: 'Pause orders' }).click();
    await page.getByRole('button', { name: 'Resume orders' }).waitFor({ timeout: SLOW });
    const edit = page.getByRole('button', { name: 'Edit offset' });
    await until('Edit offset to be enabled', () => edit.isEnabled());
    await edit.click();

    const dialog = page.getByRole('dialog', { name: 'Change the offset of orders' });
    const value = dialog.getByLabel(/Last copied value of id/);
    expect(await value.inputValue()).toBe(String(SOURCE_ROWS));
    await value.fill('100');
    await dialog.getByLabel('Reason', { exact: true }).fill('replay orders 101-500 after the warehouse restore');
    await waitForText(dialog.locator('.change-preview'), new RegExp(`id > ${SOURCE_ROWS}.*id > 100`));
    const save = dialog.getByRole('button', { name: 'Change offset' });
    expect(await save.isDisabled()).toBe(true);
    await dialog.getByLabel(/Type the sync id/).fill('order');
    expect(await save.isDisabled()).toBe(true);
    await dialog.getByLabel(/Type the sync id/).fill('orders');
    await shot(page, '10-offset-dialog');
    await save.click();
    await dialog.waitFor({ state: 'detached' });

    const history = page.getByRole('region', { name: 'Offset' }).getByRole('row').filter({ hasText: 'replay orders 101-500' });
    await waitForText(history, new RegExp(`admin.*id > ${SOURCE_ROWS} → id > 100`));
    expect((await admin.offsets.get('orders')).offset).toMatchObject({ kind: 'id', value: '100' });
    // The Status card shows the new position too, not the agent's last one.
    await waitForText(fact(page, 'Position'), /^id > 100 \(set by hand\)$/);
    await waitForText(fact(page, 'Lag'), /known when it runs again/);
    await shot(page, '11-offset-history');
  });

  it('checks an original Go Idra export first (a report of every sync and field), imports it, and edits a sync, keeping what the form does not show', async () => {
    const goConnector = (table: string, extra: Record<string, unknown> = {}) => ({
      id: 'order_id',
      connector_name: table,
      connector_source_type: 'PostgresGORM',
      connection_string: 'host=127.0.0.1 port=1 user=legacy password=Legacy-Pa55 dbname=shop sslmode=disable',
      table,
      polling_time: 5,
      max_record_batch_size: 100,
      save_mode: '',
      ...extra,
    });
    const goExport = [
      {
        id: 'legacy-orders',
        sync_name: 'Legacy orders',
        mode: 'IdField',
        disabled: true,
        source_connector: goConnector('orders', { start_offset: 42 }),
        destination_connector: goConnector('orders_copy'),
      },
      {
        id: 'legacy-queue',
        sync_name: 'Legacy queue',
        mode: 'Last',
        disabled: true,
        source_connector: { connector_source_type: 'RabbitMQConnector', connection_string: 'amqp://guest:guest@localhost:5672/', table: 'q' },
        destination_connector: goConnector('queue'),
      },
    ];
    await page.getByRole('link', { name: 'Syncs' }).click();
    await page.getByRole('button', { name: 'Import JSON' }).click();
    const dialog = page.getByRole('dialog', { name: 'Import syncs' });
    await dialog.getByLabel('or paste it here').fill(JSON.stringify(goExport));
    await dialog.getByRole('button', { name: 'Check (dry run)' }).click();
    const report = dialog.getByRole('region', { name: 'Import report' });
    const orders = report.getByRole('region', { name: 'Go sync legacy-orders' });
    await waitForText(
      orders.getByRole('row').filter({ hasText: 'destination_connector.save_mode' }),
      /converted.*upsert: Go upserted for anything but exactly "Insert"/,
    );
    await waitForText(orders.getByRole('row').filter({ hasText: 'source_connector.id' }), /mapped.*cursorColumn 'order_id'/);
    await waitForText(
      report.getByRole('region', { name: 'Go sync legacy-queue' }).getByRole('row').filter({ hasText: 'source_connector.connector_source_type' }),
      /refused.*RabbitMQ is not a connector of Idra/,
    );
    expect(await report.textContent()).not.toContain('Legacy-Pa55');
    await waitForText(dialog.getByRole('status'), /nothing written yet.*Refused: legacy-queue/);
    await shot(page, '12-import-go-idra-report');
    expect(await dialog.getByRole('button', { name: 'Import', exact: true }).isDisabled()).toBe(true);
    await dialog.getByRole('checkbox', { name: /Leave out the syncs/ }).check();
    await dialog.getByRole('button', { name: 'Check (dry run)' }).click();
    await dialog.getByRole('button', { name: 'Import', exact: true }).click();
    await waitForText(dialog.getByRole('status'), /Go Idra format.*Syncs: 1 created \(legacy-orders\).*Offsets seeded: legacy-orders.*Refused: legacy-queue/);
    await shot(page, '12-import-go-idra-done');
    await dialog.getByRole('button', { name: 'Done' }).click();
    await waitForText(page.locator('tr[data-sync="legacy-orders"] .badge'), /paused/);
    expect((await admin.offsets.get('legacy-orders')).offset).toMatchObject({ kind: 'id', value: '42' });
    expect((await admin.syncs.get('legacy-orders')).keyColumns).toEqual(['order_id']);

    await page.goto(`${baseUrl}/syncs/orders/edit`);
    await page.getByRole('heading', { name: 'Edit sync orders' }).waitFor();
    expect(await page.getByLabel('Id', { exact: true }).getAttribute('readonly')).not.toBeNull();
    expect(await page.getByRole('checkbox', { name: /^Enabled/ }).isChecked()).toBe(false);
    await page.getByLabel('Batch size', { exact: true }).fill('200');
    await page.getByText(/✓ Valid: batches of 200/).waitFor();
    await page.getByRole('button', { name: 'Save paused' }).click();
    await waitForText(fact(page, 'Batch size'), /^200$/);
    expect(await admin.syncs.get('orders')).toMatchObject({
      enabled: false,
      batchSize: 200,
      pollIntervalMs: '500ms',
      keyColumns: ['id'],
      destination: { dataSourceId: 'warehouse', table: 'orders_copy' },
    });
  });

  it("asks reset or keep (typed) before an edit moves what the offset points into, and shows the change in the sync's history", async () => {
    await page.goto(`${baseUrl}/syncs/orders/edit`);
    await page.getByRole('heading', { name: 'Edit sync orders' }).waitFor();
    await page.getByLabel('Cursor column', { exact: true }).fill('updated_at');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'The offset of orders would point elsewhere' });
    await waitForText(dialog.getByRole('list', { name: 'What changes' }), /cursorColumn: id → updated_at/);
    const save = dialog.getByRole('button', { name: 'Save with this choice' });
    await dialog.getByRole('radio', { name: /Keep the offset/ }).check();
    expect(await save.isDisabled()).toBe(true);
    await dialog.getByLabel(/Type the sync id/).fill('orders');
    await dialog.getByLabel('Reason').fill('the id column is renamed');
    await shot(page, '12b-offset-scope-dialog');
    await save.click();
    await page.getByRole('heading', { name: 'orders' }).waitFor();
    const history = page.getByRole('list', { name: 'Changes of sync orders' });
    await waitForText(
      history.locator('li').first(),
      /updated.*by admin.*the id column is renamed.*Offset kept: cursorColumn id → updated_at.*cursorColumn: id → updated_at/,
    );
    await waitForText(history, /paused.*enabled: (true → )?false/);
    await shot(page, '12c-sync-history');
    expect((await admin.offsets.get('orders')).offset).toMatchObject({ kind: 'id', scope: { cursorColumn: 'updated_at' } });
  });

  it('shows server-side activity charts with axes and a timeline that survive a reload, and the dashboard and list problems first', async () => {
    await admin.syncs.resume('orders');
    await page.goto(`${baseUrl}/syncs/orders`);
    await page.reload();
    const activity = page.getByRole('region', { name: 'Activity' });
    await activity.locator('figcaption', { hasText: 'Throughput (rows/s, per minute)' }).waitFor();
    // Axes: time labels under the charts and value labels beside them, from the agents' stored minutes.
    expect(await activity.locator('svg text').count()).toBeGreaterThan(10);
    await waitForText(activity.locator('desc').first(), /peak/);
    await activity.getByRole('button', { name: 'last 24h' }).click();
    expect(await activity.getByRole('button', { name: 'last 24h' }).getAttribute('aria-pressed')).toBe('true');
    const timeline = page.getByRole('region', { name: 'Timeline' });
    await waitForText(timeline, /started on agent ui-agent-1/);
    await waitForText(timeline, /offset changed from "500" to "100": replay orders 101-500/);
    await waitForText(timeline, /paused.*by admin/);
    await docShots(page, 'sync-detail');
    await expectAccessible(page, 'the sync detail');
    // On a phone the charts are drawn at their own width (not a wide drawing squeezed): time labels keep their shape, apart and inside.
    await page.setViewportSize({ width: 390, height: 844 });
    await until('the charts drawn at a phone width', () =>
      page.evaluate(() =>
        [...document.querySelectorAll<SVGSVGElement>('.time-chart svg')].every(
          (svg) => Math.abs(svg.viewBox.baseVal.width - svg.getBoundingClientRect().width) <= 1,
        ),
      ),
    );
    const crowded = await page.evaluate(() =>
      [...document.querySelectorAll<SVGSVGElement>('.time-chart svg')].flatMap((svg) => {
        const box = svg.getBoundingClientRect();
        const labels = [...svg.querySelectorAll('text')]
          .map((t) => t.getBoundingClientRect())
          .filter((r) => r.top > box.bottom - 20)
          .sort((a, b) => a.left - b.left);
        return labels
          .filter((r, i) => (i > 0 && r.left < labels[i - 1]!.right) || r.left < box.left - 1 || r.right > box.right + 1)
          .map((r) => `${r.left}-${r.right}`);
      }),
    );
    expect(crowded).toEqual([]);
    await page.setViewportSize({ width: 1360, height: 900 });

    // The list and the dashboard fetch a page and a summary cut by the server, never every sync at once.
    const fetched: string[] = [];
    const record = (r: { url(): string }) => {
      const url = new URL(r.url());
      if (url.pathname.startsWith('/api/v1/overview') || url.pathname.endsWith('/overview')) fetched.push(url.pathname + url.search);
    };
    page.on('request', record);
    await page.getByRole('link', { name: 'Syncs' }).click();
    await page.locator('tr[data-sync="orders"]').waitFor();
    await docShots(page, 'syncs-list');
    await expectAccessible(page, 'the syncs list');
    await page.getByRole('searchbox', { name: 'Search syncs' }).fill('legacy-');
    await until('the search asked of the server', () => fetched.some((u) => u.startsWith('/api/v1/overview/page?q=legacy-')));
    await until('only the matching sync listed', async () =>
      equal(await page.locator('tr[data-sync]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-sync'))), ['legacy-orders']),
    );
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.locator('.health-line').waitFor();
    await until('the dashboard summary', () => fetched.includes('/api/v1/overview/summary'));
    page.off('request', record);
    expect(fetched.filter((u) => u === '/api/v1/overview' || u.startsWith('/api/v1/overview?'))).toEqual([]);
    await docShots(page, 'dashboard');
    await expectAccessible(page, 'the dashboard');
  });

  it('groups, pages, exports, retries and deletes rejected rows (with a confirmation)', async () => {
    const src = new Database(join(dir, 'source.db'));
    src.exec('CREATE TABLE payments (id INTEGER PRIMARY KEY, amount REAL)');
    const insert = src.prepare('INSERT INTO payments (id, amount) VALUES (?, ?)');
    for (let i = 1; i <= 60; i++) insert.run(i, i % 2 === 0 ? null : i);
    src.close();
    const wh = new Database(join(dir, 'warehouse.db'));
    wh.exec('CREATE TABLE payments (id INTEGER PRIMARY KEY, amount REAL NOT NULL)');
    wh.close();
    await admin.syncs.create({
      id: 'payments',
      source: { connector: 'sqlite', dataSourceId: 'shop', table: 'payments' },
      destination: { connector: 'sqlite', dataSourceId: 'warehouse', table: 'payments' },
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
      onError: 'skip',
      pollIntervalMs: 500,
    });
    await until('30 rejected rows', async () => (await admin.syncs.deadLetters('payments')).length === 30);
    await page.goto(`${baseUrl}/syncs/payments#dead-letters`);
    const card = page.getByRole('region', { name: 'Rejected rows (dead letters)' });
    await card.getByRole('option', { name: /^30 × NOT NULL constraint failed: payments\.amount/ }).waitFor({ state: 'attached' });
    await card.getByText('Page 1 of 2 · 30 rows').waitFor();
    await expect(card.getByRole('navigation', { name: 'Pages of rejected rows' }).getByRole('button', { name: 'Previous' }).isDisabled()).resolves.toBe(true);
    await docShots(page, 'sync-dead-letters');
    // On a phone the pager's buttons keep their words on one line (the count beside them wraps instead).
    await page.setViewportSize({ width: 390, height: 844 });
    const lines = await card.locator('.pager button').evaluateAll((buttons) =>
      buttons.map((b) => {
        const range = document.createRange();
        range.selectNodeContents(b);
        return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
      }),
    );
    expect(lines).toEqual([1, 1]);
    await page.setViewportSize({ width: 1360, height: 900 });
    const download = page.waitForEvent('download');
    await card.getByRole('button', { name: 'Export CSV' }).click();
    expect((await download).suggestedFilename()).toBe('payments-rejected.csv');
    // Retry two rows once the destination accepts them.
    const fixed = new Database(join(dir, 'warehouse.db'));
    fixed.exec(
      'CREATE TABLE payments_new (id INTEGER PRIMARY KEY, amount REAL); INSERT INTO payments_new SELECT * FROM payments; DROP TABLE payments; ALTER TABLE payments_new RENAME TO payments',
    );
    fixed.close();
    await card
      .getByRole('checkbox', { name: /^Select rejected row/ })
      .nth(0)
      .check();
    await card
      .getByRole('checkbox', { name: /^Select rejected row/ })
      .nth(1)
      .check();
    await card.getByRole('button', { name: 'Retry 2 selected through the destination' }).click();
    await card.getByText('Page 1 of 2 · 28 rows').waitFor();
    // Deleting asks first.
    await card.getByRole('checkbox', { name: 'Select the rows of this page' }).check();
    await card.getByRole('button', { name: 'Delete 20 selected' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete 20 rejected row(s) of payments?' });
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await card.getByText('Page 1 of 1 · 8 rows').waitFor();
    await expectAccessible(page, 'the rejected rows');
    await admin.syncs.pause('payments');
  });

  it('creates one sync per table from a data source in one go, with detected columns to review', async () => {
    const src = new Database(join(dir, 'source.db'));
    src.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE refunds (id INTEGER PRIMARY KEY, updated_at TEXT)');
    src.close();
    await page.goto(`${baseUrl}/syncs`);
    await page.getByRole('link', { name: 'From tables…' }).click();
    await page.getByRole('heading', { name: 'New syncs from tables' }).waitFor();
    expect(await page.getByRole('button', { name: /^Create 0 syncs/ }).isDisabled()).toBe(true);
    await page.getByText('To create: choose a source data source.').waitFor();
    await page.getByLabel('Source data source').selectOption('shop');
    await page.getByLabel('Destination data source').selectOption('warehouse');
    await page.getByPlaceholder('Filter tables…').fill('e');
    await page.getByRole('checkbox', { name: /^Select all shown/ }).check();
    await page.getByLabel('Sync id prefix').fill('bulk-');
    await page.getByLabel('Destination table prefix').fill('b_');
    const review = page.getByRole('region', { name: /^4\. Review/ });
    const customers = review.locator('tr[data-table="customers"]');
    await waitForText(customers, /bulk-customers.*ready/);
    expect(await customers.getByLabel('Key columns of customers').inputValue()).toBe('id');
    expect(await customers.getByLabel('Cursor column of customers').inputValue()).toBe('id');
    expect(await customers.getByLabel('Destination table of customers').inputValue()).toBe('b_customers');
    // Each table's sync is adjusted before anything is created: mode, columns, destination table.
    const refunds = review.locator('tr[data-table="refunds"]');
    await refunds.getByLabel('Mode of refunds').selectOption('timestamp');
    // SQLite declares updated_at as TEXT: not detected as a timestamp, so the row asks for it until given.
    await waitForText(refunds, /give the cursor column/);
    await refunds.getByLabel('Cursor column of refunds').fill('updated_at');
    await waitForText(refunds, /ready$/);
    await refunds.getByLabel('Destination table of refunds').fill('refunds_history');
    await customers.getByLabel('Mode of customers').selectOption('full');
    await customers.getByLabel('Key columns of customers').fill('id, name');
    await customers.getByLabel('Destination table of customers').focus();
    await docShots(page, 'bulk-review');
    await expectAccessible(page, 'the bulk creation');
    await page.getByRole('button', { name: /^Create \d+ syncs/ }).click();
    await page.getByRole('heading', { name: 'Syncs', exact: true }).waitFor();
    const created = await until('the bulk syncs', async () => {
      const list = (await admin.overview()).filter((o) => o.id.startsWith('bulk-')).map((o) => [o.id, o.enabled]);
      return list.length >= 2 && list;
    });
    expect(created).toEqual(
      expect.arrayContaining([
        ['bulk-customers', false],
        ['bulk-refunds', false],
      ]),
    );
    expect(await admin.syncs.get('bulk-refunds')).toMatchObject({ mode: 'timestamp', cursorColumn: 'updated_at', destination: { table: 'refunds_history' } });
    const full = await admin.syncs.get('bulk-customers');
    expect(full).toMatchObject({ mode: 'full', keyColumns: ['id', 'name'], destination: { table: 'b_customers' } });
    expect(full.cursorColumn).toBeUndefined();
  });

  it('creates a PostgreSQL sync with a soft-delete column in the form; a column added and rows marked deleted at the source show on its page', async () => {
    const db = await createDatabase('postgres', inject('pgUrl'));
    const source = new pg.Client({ connectionString: db.url });
    await source.connect();
    await source.query('create table customers (id bigint primary key, name text not null, deleted_at timestamptz, updated_at timestamp(6) not null)');
    await source.query(
      "insert into customers (id, name, updated_at) select i, 'customer-' || i, now() - interval '1 minute' + i * interval '1 ms' from generate_series(1, 30) i",
    );
    try {
      await admin.dataSources.create({ id: 'crm', connector: 'postgres', connection: { url: db.url } });
      await page.goto(`${baseUrl}/syncs`);
      await page.getByRole('link', { name: 'New sync' }).click();
      await page.getByLabel('Id', { exact: true }).fill('customers');
      for (const [role, table] of [
        ['Source', 'customers'],
        ['Destination', 'customers_copy'],
      ] as const) {
        const group = page.getByRole('group', { name: new RegExp(`^${role}`) });
        await group.getByLabel('Connector', { exact: true }).selectOption('postgres');
        await group.getByLabel('Data source', { exact: true }).selectOption('crm');
        await group.getByLabel('Table', { exact: true }).fill(table);
      }
      await page.locator('input[name="mode"][value="timestamp"]').check();
      await page.getByLabel('Cursor column', { exact: true }).fill('updated_at');
      await page.getByLabel('Key columns', { exact: true }).fill('id');
      await page.getByLabel('Write mode', { exact: true }).selectOption('upsert');
      await page.getByLabel('Poll interval', { exact: true }).fill('500ms');
      await page.getByLabel("When the source's columns change", { exact: true }).selectOption('evolve');
      // Timestamp mode offers the soft-delete choices, not mirror (full mode only).
      const deletes = page.getByLabel('Rows deleted at the source', { exact: true });
      expect(await deletes.locator('option').allTextContents()).toEqual([
        'stay in the destination',
        'marked by a column: delete them',
        'marked by a column: copy the mark',
      ]);
      await deletes.selectOption('delete');
      await page.getByLabel('Soft-delete column', { exact: true }).fill('deleted_at');
      // The server's messages appear under these fields too, as they are left.
      const every = page.getByLabel('Compare keys every', { exact: true });
      await every.fill('often');
      await page.getByLabel('Soft-delete column', { exact: true }).focus();
      await page
        .locator('.field.has-error')
        .filter({ hasText: 'Compare keys every' })
        .getByText(/invalid value/)
        .waitFor();
      await every.fill('1h');
      const fraction = page.getByLabel('Largest share deleted at once', { exact: true });
      await fraction.fill('2');
      await every.focus();
      await page.locator('.field.has-error').filter({ hasText: 'Largest share deleted at once' }).getByText('must be at most 1').waitFor();
      await fraction.fill('0.2');
      await page.getByRole('button', { name: 'Test connections and tables' }).click();
      await page.getByText(/✓ Connections work; the tables and columns exist/).waitFor();
      expect(await page.locator('.field.has-error').count()).toBe(0);
      // The sticky footer (verdict and buttons) never hides a field: not the last ones at the end of the page, not
      // one the keyboard moves to, on a desktop and on a phone (where the footer's buttons take two rows).
      const footer = page.locator('.form-footer');
      const box = async (l: Locator) => (await l.boundingBox())!;
      for (const [width, height] of [
        [1440, 900],
        [390, 844],
      ] as const) {
        await page.setViewportSize({ width, height });
        await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
        const last = await box(page.locator('.field').last());
        expect(last.y + last.height, `${width} px: the last field ends above the footer`).toBeLessThanOrEqual((await box(footer)).y);
        await shot(page, `22-sync-form-faithful-copy-${width}`);
        // Scrolled so that the field ends at the bottom of the window, behind the footer, it is focused (as by Tab):
        // the browser scrolls it out from under the footer only if it knows the footer's height.
        await fraction.blur();
        await fraction.evaluate((e) => window.scrollTo(0, window.scrollY + e.getBoundingClientRect().bottom - window.innerHeight));
        await fraction.focus();
        const focused = await box(fraction);
        expect(focused.y + focused.height, `${width} px: a focused field stops above the footer`).toBeLessThanOrEqual((await box(footer)).y);
      }
      await page.setViewportSize({ width: 1360, height: 900 });
      await page.getByRole('button', { name: 'Create and start' }).click();

      await page.getByRole('heading', { name: 'customers', exact: true }).waitFor();
      expect(await admin.syncs.get('customers')).toMatchObject({
        mode: 'timestamp',
        deletes: 'delete',
        softDeleteColumn: 'deleted_at',
        reconcileEvery: '1h',
        maxDeleteFraction: 0.2,
      });
      await waitForText(fact(page, 'Schema changes'), /^evolve: the destination follows$/);
      await waitForText(fact(page, 'Source deletes'), /^deleted when deleted_at is set$/);
      await waitForText(fact(page, 'Key comparison'), /^every 1h, at most 20% of the rows at once$/);
      await waitForText(fact(page, 'Rows copied'), /^30$/, SLOW);
      // Caught up, it compares the keys once (then every hour): nothing to delete yet.
      await waitForText(fact(page, 'Last key comparison'), /30 source and 30 destination keys, 0 deleted, 0 missing from the destination/, SLOW);

      await source.query('alter table customers add column email text');
      await source.query("insert into customers (id, name, email, updated_at) values (31, 'customer-31', 'c31@example.com', now())");
      await source.query('update customers set deleted_at = now(), updated_at = now() where id in (2, 4, 6)');
      const region = page.getByRole('region', { name: 'Deletes and schema changes' });
      await waitForText(fact(page, 'Rows deleted'), /^3$/, SLOW);
      const change = region.getByRole('row').filter({ hasText: 'column email added (text)' });
      await waitForText(change, /applied/);
      await waitForText(page.getByRole('region', { name: 'Timeline' }), /source columns changed \(applied\): column email added \(text\)/, SLOW);
      const copy = await source.query<{ id: string; email: string | null }>('select id, email from customers_copy order by id');
      expect(copy.rows).toHaveLength(28);
      expect(copy.rows.map((r) => r.id)).not.toContain('2');
      expect(copy.rows.at(-1)).toEqual({ id: '31', email: 'c31@example.com' });
      // Each chart's value axis names different values (a count chart wrote "1" at 0.5 and at 1).
      const axes = await page.evaluate(() =>
        [...document.querySelectorAll('.time-chart svg')].map((svg) => [...svg.querySelectorAll(':scope > g > text')].map((t) => t.textContent)),
      );
      expect(axes).toHaveLength(3);
      for (const labels of axes) expect(new Set(labels).size, labels.join(' ')).toBe(3);
      await docShots(page, 'sync-faithful-copy');
      await expectAccessible(page, 'the sync detail with deletes and schema changes');
      // Its agent lets go (and closes its connections) before the database goes.
      await admin.syncs.pause('customers', { wait: true });
      await admin.syncs.delete('customers');
      await admin.dataSources.delete('crm');
    } finally {
      await source.end();
      await db.drop();
    }
  });

  it('says when the API server is unreachable, greys what is stale, and recovers by itself', async () => {
    await page.goto(`${baseUrl}/syncs/orders`);
    await fact(page, 'Rows copied').waitFor();
    await api.stop();
    const banner = page.getByRole('alert').filter({ hasText: 'API server unreachable since' });
    await banner.waitFor({ timeout: SLOW });
    expect(await page.locator('.shell.stale').count()).toBe(1);
    await shot(page, '21-api-unreachable');
    api = startApi();
    await until('the API server to answer again', () =>
      fetch(`${apiUrl}/readyz`).then(
        (r) => r.ok,
        () => false,
      ),
    );
    await banner.waitFor({ state: 'detached', timeout: SLOW });
    await fact(page, 'Rows copied').waitFor();
    // Each card refetches on its own once the server answers: under load some come back after the banner has gone.
    await until('every card loaded again', async () => (await page.getByText('Could not load').count()) === 0, SLOW);
  });

  it('shows on the dashboard an agent that was lost (kill -9), when, and which agent took each of its syncs', async () => {
    const second = startAgent('ui-agent-2');
    try {
      const moved = await until(
        'ui-agent-2 to run syncs',
        async () => {
          const its = (await admin.assignments()).filter((a) => a.agentId === 'ui-agent-2').map((a) => a.syncId);
          return its.length > 0 && its;
        },
        SLOW,
      );
      second.child.kill('SIGKILL');
      await second.exited;
      await page.getByRole('link', { name: 'Dashboard' }).click();
      const left = page.getByRole('region', { name: 'Agents that left' });
      await waitForText(left, /lost agent ui-agent-2 lost at/);
      for (const syncId of moved) await waitForText(left, new RegExp(`${syncId} → ui-agent-1`));
      await docShots(page, 'dashboard-agent-lost');
      await expectAccessible(page, 'the dashboard with an agent lost');
    } finally {
      await second.stop();
    }
  });

  it('lists agents, assignments and users, and shows a new API token once', async () => {
    await page.getByRole('link', { name: 'Agents', exact: true }).click();
    const agentRow = page.getByRole('row').filter({ hasText: 'ui-agent-1' });
    await agentRow.getByText('leader').waitFor();
    // Its labels (--labels zone=local) and its capacity (no --max-syncs: no limit).
    await agentRow.getByText('zone=local').waitFor();
    await waitForText(agentRow, /\d+ \/ no limit/);
    await shot(page, '13-agents');
    // A data source with a concurrency limit shows its slots: none held, nobody waiting.
    await admin.dataSources.create({ id: 'limited', connector: 'sqlite', connection: { file: join(dir, 'limited.db') }, maxConcurrentSyncs: 2 });
    await page.getByRole('link', { name: 'Data sources' }).click();
    const slots = page.getByRole('region', { name: 'Concurrency' }).getByRole('row').filter({ hasText: 'limited' });
    await waitForText(slots, /0 \/ 2.*nobody/);
    await expectAccessible(page, 'data sources with a concurrency limit');
    await page.getByRole('link', { name: 'Assignments' }).click();
    await waitForText(page.getByRole('row').filter({ hasText: 'broken' }), /ui-agent-1/);
    await shot(page, '14-assignments');
    await docShots(page, 'assignments');

    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('button', { name: 'New user' }).click();
    const dialog = page.getByRole('dialog', { name: 'New user' });
    await dialog.getByLabel('User name', { exact: true }).fill('watcher');
    await dialog.getByLabel('Role', { exact: true }).selectOption('viewer');
    await dialog.getByLabel('Password', { exact: true }).fill(VIEWER_PASSWORD);
    await dialog.getByLabel(/Must choose a new password/).uncheck();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('row').filter({ hasText: 'watcher' }).getByText('viewer').waitFor();
    await shot(page, '15-users');

    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.getByRole('button', { name: 'New token' }).click();
    await page.getByRole('dialog', { name: 'New API token' }).getByLabel('Name', { exact: true }).fill('ci-deploy');
    await page.getByRole('dialog', { name: 'New API token' }).getByRole('button', { name: 'Create' }).click();
    const shown = page.getByRole('dialog', { name: 'Token ci-deploy created' });
    const token = await shown.getByLabel('API token').inputValue();
    expect(token).toMatch(/^idra_/);
    await shot(page, '16-token-created');
    await shown.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByRole('row').filter({ hasText: 'ci-deploy' }).waitFor();
    expect(await page.content()).not.toContain(token);
  });

  it("resets a user's password and revokes their API tokens from the user dialog", async () => {
    await admin.users.create({ name: 'leaky', password: VIEWER_PASSWORD, role: 'operator', mustChangePassword: false });
    const leaky = new IdraClient({ baseUrl: apiUrl });
    await leaky.auth.login('leaky', VIEWER_PASSWORD);
    const leaked = (await leaky.tokens.create({ name: 'leaky-ci' })).token;
    const asToken = new IdraClient({ baseUrl: apiUrl, token: leaked });
    expect((await asToken.auth.me()).name).toBe('leaky');

    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('button', { name: 'Edit leaky' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit user leaky' });
    await dialog.getByLabel('New password', { exact: true }).fill('Leaky-Reset-Pa55');
    await dialog.getByLabel(/Also revoke their API tokens/).check();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByText('User leaky saved; their API tokens are revoked.').waitFor();
    await expect(asToken.auth.me()).rejects.toMatchObject({ status: 401 });
  });

  it('works by keyboard in dialogs, in dark mode and on a phone-sized screen', async () => {
    await page.getByRole('link', { name: 'Syncs' }).click();
    // Row actions sit in a menu: opened, walked and used by keyboard.
    const menu = page.getByRole('button', { name: 'Actions for broken' });
    await menu.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('menu', { name: 'Actions for broken' }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Pause');
    await page.keyboard.press('ArrowUp');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Delete');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Delete sync broken?' });
    await dialog.waitFor();
    expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Actions for broken');

    await page.emulateMedia({ colorScheme: 'dark' });
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.locator('.health-line').getByText('healthy', { exact: true }).waitFor();
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(15, 18, 23)');
    await shot(page, '17-dashboard-dark');
    // The theme chosen in the UI overrides the system's.
    expect(
      await page.evaluate(() => {
        document.documentElement.dataset.theme = 'light';
        const light = getComputedStyle(document.body).backgroundColor;
        delete document.documentElement.dataset.theme;
        return light;
      }),
    ).toBe('rgb(246, 247, 249)');
    await page.emulateMedia({ colorScheme: 'light' });

    await page.setViewportSize({ width: 390, height: 844 });
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link', { name: 'Agents' }).isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Menu' }).click();
    await nav.getByRole('link', { name: 'Syncs' }).click();
    await page.locator('tr[data-sync="orders"]').waitFor();
    await shot(page, '18-syncs-phone');
    await page.setViewportSize({ width: 1360, height: 900 });
  });

  it('gives a viewer no write buttons, and sends them back to the login when their session ends', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByText('You have logged out.').waitFor();
    await page.getByLabel('User name', { exact: true }).fill('watcher');
    await page.getByLabel('Password').fill(VIEWER_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    // The login keeps the address: the viewer is back on the screen the admin left.
    await page.getByRole('heading', { name: 'Syncs' }).waitFor();
    await page.getByRole('link', { name: /watcher viewer/ }).waitFor();

    await page.locator('tr[data-sync="orders"]').waitFor();
    expect(await page.getByRole('link', { name: 'New sync' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^(Pause|Resume|Delete|Duplicate)/ }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Users' }).count()).toBe(0);
    await shot(page, '19-viewer-syncs');
    await page.locator('tr[data-sync="orders"]').getByRole('link', { name: 'orders', exact: true }).click();
    await fact(page, 'Rows copied').waitFor();
    expect(await page.getByRole('button', { name: /Edit offset|Pause|Resume|Delete/ }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Edit' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Data sources' }).click();
    await page.getByRole('row').filter({ hasText: 'shop' }).waitFor();
    expect(await page.getByRole('button', { name: /New data source|Test|Edit|Delete/ }).count()).toBe(0);

    // Ending every session of the user elsewhere (as a logout in another browser does): the next request gets a 401.
    const elsewhere = new IdraClient({ baseUrl: apiUrl });
    await elsewhere.auth.login('watcher', VIEWER_PASSWORD);
    await elsewhere.auth.logout();
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.getByRole('heading', { name: 'Log in to Idra' }).waitFor({ timeout: SLOW });
    await page.getByText(/Your session has ended/).waitFor();
    // admin/admin was changed in the first test: no hint that it works.
    await until(
      'the login page to have asked the API',
      async () => (await page.evaluate(() => performance.getEntriesByType('resource').some((e) => e.name.endsWith('/auth/setup')))) || undefined,
    );
    expect(await page.getByText('with the password admin').count()).toBe(0);
    await shot(page, '20-session-ended');
  });
});
