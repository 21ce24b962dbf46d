import { tmpdir } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpawnedProcess, tempDir } from '@idra/testkit';

const MAIN = resolve(import.meta.dirname, '../src/main.ts');

/** A Go Idra PostgresGORM connector (its JSON field names); nothing listens on port 1. */
const goConnector = (table: string, extra: Record<string, unknown> = {}) => ({
  id: 'agency_id',
  connector_name: table,
  connector_source_type: 'PostgresGORM',
  connection_string: 'host=127.0.0.1 port=1 user=idra dbname=shop sslmode=disable TimeZone=Europe/Rome',
  table,
  timestamp_field: 'last_update',
  max_record_batch_size: 7,
  save_mode: '',
  ...extra,
});

/** The agent on a Go Idra export of `syncs`, run to its end, with its JSON log lines. */
async function runOnGoExport(syncs: object[]) {
  const dir = await tempDir('idra-go-export-');
  const config = join(dir, 'go-export.json');
  await writeFile(config, JSON.stringify(syncs));
  const run = new SpawnedProcess(process.execPath, [MAIN, '--config', config, '--state-dir', join(dir, 'state')], {
    env: { ...process.env, IDRA_LOG_FORMAT: 'json', IDRA_SQLITE_ROOTS: tmpdir() },
  });
  return { code: await run.exited, lines: run.lines, output: run.output() };
}

describe('single mode on a Go Idra export (real agent process)', { timeout: 120_000 }, () => {
  it('logs what became of each Go sync: counts, and every field converted (how) or ignored (why)', async () => {
    // Disabled, so the agent reads, reports and exits 4 (nothing to run) without a database.
    const { code, lines } = await runOnGoExport([
      {
        id: 'agencies',
        sync_name: 'Agencies',
        mode: 'Timestamp',
        disabled: true,
        source_connector: goConnector('agencies'),
        destination_connector: goConnector('agencies_copy', { save_mode: 'Insert' }),
      },
    ]);
    expect(code).toBe(4);
    const report = lines.find((l) => l.goSync === 'Agencies');
    expect(report?.msg).toMatch(/^Go Idra sync "Agencies" runs as agencies: \d+ fields mapped, [1-9]\d* converted, \d+ ignored$/);
    const fields = report!.fields as Array<{ field: string; outcome: string; detail: string }>;
    expect(fields.length).toBeGreaterThan(0);
    expect(fields.every((f) => f.outcome === 'converted' || f.outcome === 'ignored')).toBe(true);
    expect(fields.find((f) => f.field === 'source_connector.connection_string')).toMatchObject({ outcome: 'converted' });
    // The connection string's parts may be named, never a password: there is none here, and none is logged.
    expect(JSON.stringify(report)).not.toMatch(/password=/);
  });

  it('refuses an export with a sync Idra cannot run faithfully (exit 2, the field named)', async () => {
    const { code, output } = await runOnGoExport([
      {
        id: 'q',
        sync_name: 'Queue',
        mode: 'IdField',
        disabled: false,
        source_connector: { ...goConnector('agencies'), connector_source_type: 'RabbitMQ' },
        destination_connector: goConnector('agencies_copy'),
      },
    ]);
    expect(code).toBe(2);
    expect(output).toMatch(/source_connector/);
  });
});
