import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { createGzip, gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort, s3ForTests, tempDir, type S3Address, type S3Server, type ServerForTests } from '@idra/testkit';
import { FileOffsetStore, type Endpoint, type Position } from '@idra/core';
import { S3Source } from './s3-source.ts';
import { describeConnectorContract } from '../testing/connector-contract.ts';
import { createTestDb, insertRows, runOnce, TestRun, type TestDb } from '../testing/fixtures.ts';
import { canonicalRow, deletesThrough, numberedRows, syncBetween, tableEndpoint, TYPED_ROWS } from '../testing/endpoints.ts';

let s3: ServerForTests<S3Address, S3Server>;
let client: S3Client;
let pg: TestDb;
let lite: TestDb;
let bucketCount = 0;

async function newBucket(): Promise<string> {
  const bucket = `idra-${process.pid}-${++bucketCount}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

function s3Endpoint(bucket: string, prefix: string, options: Record<string, unknown> = {}): Endpoint {
  const { url, accessKeyId, secretAccessKey } = s3.address;
  return {
    connector: 's3',
    connection: { url, user: accessKeyId, password: secretAccessKey },
    bucket,
    prefix,
    options: { region: s3.address.region, ...options },
  };
}

async function keys(bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    out.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

async function objectText(bucket: string, key: string): Promise<string> {
  const body = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
  return (key.endsWith('.gz') ? gunzipSync(body) : key.endsWith('.zst') ? zstdDecompressSync(body) : body).toString('utf8');
}

async function putObject(bucket: string, key: string, body: string | Uint8Array): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

beforeAll(async () => {
  [s3, pg, lite] = await Promise.all([s3ForTests(), createTestDb('postgres'), createTestDb('sqlite')]);
  client = new S3Client({
    endpoint: s3.address.url,
    region: s3.address.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.address.accessKeyId, secretAccessKey: s3.address.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  await pg.exec('create table typed (id bigint primary key, name text, amount numeric(28,6), ts timestamp(6), flag boolean, doc jsonb)');
  await insertRows(pg, 'typed', TYPED_ROWS);
});

afterAll(async () => {
  client?.destroy();
  await Promise.all([s3?.stop(), pg?.drop(), lite?.drop()]);
});

describe('s3 connector', () => {
  it('PG → S3 (gzipped JSON Lines) → SQLite: every type arrives; one object per batch, named after its first row', async () => {
    const bucket = `idra-${process.pid}-created`;
    const toS3 = syncBetween(tableEndpoint(pg, 'typed'), s3Endpoint(bucket, 'typed/', { gzip: true, createBucket: true }), {
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
      batchSize: 3,
    });
    expect((await runOnce(toS3, await tempDir('idra-state-'))).status.rowsCopied).toBe(4);
    expect(await keys(bucket)).toEqual(['typed/00000000000000000001.jsonl.gz', 'typed/09223372036854775807.jsonl.gz']);
    expect(
      (await objectText(bucket, 'typed/09223372036854775807.jsonl.gz'))
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([{ id: '9223372036854775807', name: null, amount: null, ts: '2024-06-30 23:59:59.5', flag: true, doc: { nested: { deep: [true] } } }]);

    const fromS3 = syncBetween(s3Endpoint(bucket, 'typed/'), tableEndpoint(lite, 'from_s3'), { keyColumns: ['id'], writeMode: 'upsert', batchSize: 2 });
    const { status } = await runOnce(fromS3, await tempDir('idra-state-'));
    expect(status.rowsCopied).toBe(4);
    const objects = ['typed/00000000000000000001.jsonl.gz', 'typed/09223372036854775807.jsonl.gz'];
    expect(status.position).toEqual({ kind: 'stream', value: { key: objects[1], line: 2, floor: null, read: objects } });
    expect((await lite.rows('from_s3', ['id'])).map(canonicalRow)).toEqual((await pg.rows('typed', ['id'])).map(canonicalRow));
  });

  it('CSV objects keep quotes, commas, line breaks, NULL apart from the empty string, and the column types', async () => {
    const bucket = await newBucket();
    await pg.exec(`create table csv_src (id bigint primary key, name text, amount numeric(28,6), doc jsonb)`);
    await insertRows(pg, 'csv_src', [
      { id: '1', name: 'a, "quoted"\r\nline', amount: '1.500000', doc: { k: 'v,"' } },
      { id: '2', name: '', amount: null, doc: null },
      { id: '3', name: null, amount: '-0.000001', doc: [1] },
    ]);
    const toS3 = syncBetween(tableEndpoint(pg, 'csv_src'), s3Endpoint(bucket, 'csv/', { format: 'csv' }), {
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
    });
    await runOnce(toS3, await tempDir('idra-state-'));
    expect(await objectText(bucket, 'csv/00000000000000000001.csv')).toBe(
      'id,name,amount,doc\r\n1,"a, ""quoted""\r\nline",1.500000,"{""k"":""v,\\""""}"\r\n2,"",,\r\n3,,-0.000001,[1]\r\n',
    );
    const fromS3 = syncBetween(s3Endpoint(bucket, 'csv/', { format: 'csv' }), tableEndpoint(pg, 'csv_copy'), { keyColumns: ['id'] });
    await runOnce(fromS3, await tempDir('idra-state-'));
    expect(await pg.rows('csv_copy', ['id'])).toEqual(await pg.rows('csv_src', ['id']));
  });

  it('deletes travel as records marked _deleted (JSON Lines and CSV): PG → S3 → PG ends with the rows the source kept', async () => {
    for (const format of ['jsonl', 'csv'] as const) {
      const bucket = await newBucket();
      const { copy, kept } = await deletesThrough(pg, `deleting_${format}`, {
        to: s3Endpoint(bucket, 'd/', { format }),
        from: s3Endpoint(bucket, 'd/', { format }),
      });
      expect(kept.map((r) => r['id'])).toEqual(['1', '3']);
      expect(copy).toEqual(kept);
      const objects = await keys(bucket);
      // The third pass read only deleted rows: an object of deletes alone, named after where that read ended.
      expect(objects.at(-1)).toBe(`d/2026-01-04T00-00-00_00000000000000000005_deletes.${format}`);
      const second = await objectText(bucket, objects[1]!);
      expect(second).toBe(
        format === 'jsonl'
          ? '{"id":"3","name":"renamed","updated_at":"2026-01-02 00:00:00","deleted_at":null}\n{"id":"2","_deleted":true}\n'
          : 'id,name,updated_at,deleted_at,_deleted\r\n3,renamed,2026-01-02 00:00:00,,\r\n2,,,,true\r\n',
      );
    }
  });

  it('a replayed batch overwrites its object, and an aborted run loses nothing', async () => {
    const bucket = await newBucket();
    await pg.exec('create table many (id bigint primary key, name text, amount text)');
    await insertRows(pg, 'many', numberedRows(1, 120));
    const state = await tempDir('idra-state-');
    const sync = syncBetween(tableEndpoint(pg, 'many'), s3Endpoint(bucket, 'many/'), { mode: 'id', cursorColumn: 'id', batchSize: 10 });
    const run = new TestRun(sync, state);
    await run.waitFor((s) => s.batches >= 3);
    await run.runner.abort();
    await runOnce(sync, state);
    const objects = await keys(bucket);
    expect(objects).toHaveLength(12);
    const lines = async () => (await Promise.all(objects.map((k) => objectText(bucket, k)))).join('').trimEnd().split('\n');
    expect((await lines()).map((l) => JSON.parse(l).id)).toEqual(Array.from({ length: 120 }, (_, i) => String(i + 1)));

    // Back to an earlier offset, as after a crash before the offset commit: the batches are written again, over their objects.
    await new FileOffsetStore(state).set(sync.id, { kind: 'id', value: '50' }, { by: 'test', reason: 'replay' });
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(70);
    expect(await keys(bucket)).toEqual(objects);
    expect(await lines()).toHaveLength(120);
  });

  it('resumes in the middle of an object from the stored key and line', async () => {
    const bucket = await newBucket();
    await pg.exec('create table mid (id text, name text, amount text)');
    await putObject(
      bucket,
      'in/a.jsonl',
      numberedRows(1, 10)
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );
    await putObject(
      bucket,
      'in/b.jsonl',
      numberedRows(11, 3)
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const state = await tempDir('idra-state-');
    // No key columns: a line read twice would be a duplicate row.
    const sync = syncBetween(s3Endpoint(bucket, 'in/'), tableEndpoint(pg, 'mid'), { batchSize: 4 });
    // As if a run had stopped after the first batch: lines 1-4 of a.jsonl are copied.
    await insertRows(pg, 'mid', numberedRows(1, 4));
    await new FileOffsetStore(state).set(sync.id, { kind: 'stream', value: { key: 'in/a.jsonl', line: 4 } }, { by: 'test', reason: 'stopped mid-object' });
    const { status } = await runOnce(sync, state);
    expect(status.rowsCopied).toBe(9);
    // That offset (of an earlier version: key and line only) goes on in a.jsonl, then after it.
    expect(status.position).toEqual({ kind: 'stream', value: { key: 'in/b.jsonl', line: 3, floor: 'in/a.jsonl', read: ['in/b.jsonl'] } });
    expect((await pg.rows('mid', ['id'])).map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    await putObject(bucket, 'in/c.jsonl', JSON.stringify(numberedRows(14, 1)[0]));
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(1);
  });

  it('an object that arrives late under an earlier key is copied (part-000 after part-001), running and across a restart', async () => {
    const bucket = await newBucket();
    const line = (from: number, count: number) =>
      numberedRows(from, count)
        .map((r) => JSON.stringify(r))
        .join('\n');
    await putObject(bucket, 'late/part-001.jsonl', line(10, 2));
    const state = await tempDir('idra-state-');
    // No key columns: an object read twice would show as duplicate rows.
    const sync = syncBetween(s3Endpoint(bucket, 'late/'), tableEndpoint(pg, 'late'), { batchSize: 5 });
    const run = new TestRun(sync, state);
    try {
      await run.waitFor((s) => s.state === 'idle' && s.rowsCopied === 2);
      await putObject(bucket, 'late/part-000.jsonl', line(1, 3));
      await run.waitFor((s) => s.state === 'idle' && s.rowsCopied === 5);
    } finally {
      await run.runner.stop();
    }
    await putObject(bucket, 'late/part-002.jsonl', line(20, 1));
    await putObject(bucket, 'late/part-0005.jsonl', line(5, 1));
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(2);
    expect((await pg.rows('late', ['id'])).map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual([1, 2, 3, 5, 10, 11, 20]);
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(0);
  });

  it('lookbackObjects bounds what is remembered: a late object under a key before the window is not read (0: strictly in key order)', async () => {
    const bucket = await newBucket();
    for (const k of ['b', 'c', 'd']) await putObject(bucket, `w/${k}.jsonl`, JSON.stringify({ id: k }));
    const state = await tempDir('idra-state-');
    const sync = syncBetween(s3Endpoint(bucket, 'w/', { lookbackObjects: 1 }), tableEndpoint(pg, 'window'), { batchSize: 10 });
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(3);
    // d is remembered, c is the floor: c0 sorts after it and is read, a and b0 come too late.
    for (const k of ['a', 'b0', 'c0']) await putObject(bucket, `w/${k}.jsonl`, JSON.stringify({ id: k }));
    const { status } = await runOnce(sync, state);
    expect(status.rowsCopied).toBe(1);
    expect(status.position?.value).toEqual({ key: 'w/c0.jsonl', line: 1, floor: 'w/c0.jsonl', read: ['w/d.jsonl'] });
    expect((await pg.rows('window', ['id'])).map((r) => r.id)).toEqual(['b', 'c', 'c0', 'd']);
  });

  it('lines that are not JSON objects and CSV records of the wrong width follow the error policy', async () => {
    const bucket = await newBucket();
    await putObject(bucket, 'bad/1.jsonl', '{"id":"1","name":"ok"}\n{broken\n\n"just a string"\n{"id":"5","name":"ok"}\n');
    const skip = syncBetween(s3Endpoint(bucket, 'bad/'), tableEndpoint(pg, 'bad_json'), { keyColumns: ['id'], onError: 'skip', batchSize: 10 });
    const { status, run } = await runOnce(skip, await tempDir('idra-state-'));
    expect([status.rowsCopied, status.rowsSkipped]).toEqual([2, 2]);
    expect(run.deadLetters.map((d) => [d.row.key, d.row.line, d.row.text])).toEqual([
      ['bad/1.jsonl', 2, '{broken'],
      ['bad/1.jsonl', 4, '"just a string"'],
    ]);
    expect(run.deadLetters[0]!.error).toMatch(/s3 source: line 2 of bad\/1.jsonl is not a JSON object/);

    await putObject(bucket, 'csv/1.csv', 'id,name\r\n1,ok\r\n2,ok,extra\r\n3,ok\r\n');
    const csv = syncBetween(s3Endpoint(bucket, 'csv/', { format: 'csv' }), tableEndpoint(pg, 'bad_csv'), { keyColumns: ['id'], onError: 'skip' });
    const csvRun = await runOnce(csv, await tempDir('idra-state-'));
    expect([csvRun.status.rowsCopied, csvRun.status.rowsSkipped]).toEqual([2, 1]);
    expect(csvRun.run.deadLetters[0]!.error).toMatch(/line 3 of csv\/1.csv is not valid: 3 fields, the header has 2/);

    const stop = syncBetween(s3Endpoint(bucket, 'bad/'), tableEndpoint(pg, 'bad_stop'), { keyColumns: ['id'], onError: 'stop', batchSize: 10 });
    const failed = await new TestRun(stop, await tempDir('idra-state-')).waitFor((s) => s.state === 'failed');
    expect(failed.lastError?.message).toMatch(/is not a JSON object/);
  });

  it('a UTF-8 byte order mark (an Excel export) is not part of the first column name, in CSV and JSON Lines', async () => {
    const bucket = await newBucket();
    await pg.exec('create table bom (id bigint primary key, name text)');
    await putObject(bucket, 'csv/1.csv', '\uFEFFid,name\r\n1,a\r\n2,b\r\n');
    await putObject(bucket, 'jsonl/1.jsonl', '\uFEFF{"id":"3","name":"c"}\n');
    for (const [prefix, format] of [
      ['csv/', 'csv'],
      ['jsonl/', 'jsonl'],
    ]) {
      const run = new TestRun(
        syncBetween(s3Endpoint(bucket, prefix!, { format }), tableEndpoint(pg, 'bom'), { keyColumns: ['id'] }),
        await tempDir('idra-state-'),
      );
      const settled = await run.waitFor((s) => s.state !== 'starting' && s.state !== 'running');
      await run.runner.stop();
      expect([settled.lastError?.message, settled.rowsSkipped]).toEqual([undefined, 0]);
    }
    expect(await pg.rows('bom', ['id'])).toEqual([
      { id: '1', name: 'a' },
      { id: '2', name: 'b' },
      { id: '3', name: 'c' },
    ]);
  });

  it('a CSV without a header line: header false, names from columnNames (or column1, column2 …)', async () => {
    const bucket = await newBucket();
    await putObject(bucket, 'raw/1.csv', '1,a\r\n2,b\r\n');
    const named = syncBetween(s3Endpoint(bucket, 'raw/', { format: 'csv', header: false, columnNames: ['id', 'name'] }), tableEndpoint(pg, 'headerless'), {
      keyColumns: ['id'],
    });
    expect((await runOnce(named, await tempDir('idra-state-'))).status.rowsCopied).toBe(2);
    expect(await pg.rows('headerless', ['id'])).toEqual([
      { id: '1', name: 'a' },
      { id: '2', name: 'b' },
    ]);
    const numbered = syncBetween(s3Endpoint(bucket, 'raw/', { format: 'csv', header: false }), tableEndpoint(pg, 'headerless_numbered'), {
      keyColumns: ['column1'],
    });
    expect((await runOnce(numbered, await tempDir('idra-state-'))).status.rowsCopied).toBe(2);
    expect(await pg.rows('headerless_numbered', ['column1'])).toEqual([
      { column1: '1', column2: 'a' },
      { column1: '2', column2: 'b' },
    ]);
    const wrong = syncBetween(s3Endpoint(bucket, 'raw/', { format: 'jsonl', columnNames: ['id'] }), tableEndpoint(pg, 'never'), {});
    const failed = await new TestRun(wrong, await tempDir('idra-state-')).waitFor((s) => s.state === 'failed');
    expect(failed.lastError?.message).toMatch(/source\.options\.columnNames: applies to CSV without a header line \(format csv or auto, header false\)/);
  });

  it('reads each object by its suffix (CSV, TSV, JSON Lines; gzip and zstd by content), only the keys include/exclude select, in the encoding given', async () => {
    const bucket = await newBucket();
    await putObject(bucket, 'mix/a.csv', 'id;name\r\n1;semicolons\r\n');
    await putObject(bucket, 'mix/b.tsv.gz', gzipSync('id\tname\n2\ttabs\n'));
    await putObject(bucket, 'mix/c.jsonl.zst', zstdCompressSync(Buffer.from('{"id":"3","name":"zstd"}\n')));
    await putObject(bucket, 'mix/deep/d.csv', Buffer.from('id;name\n4;caf\xe9\n', 'latin1'));
    await putObject(bucket, 'mix/e.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('id;name\r\n5;utf-16 \u2713\r\n', 'utf16le')]));
    await putObject(bucket, 'mix/_tmp/f.csv', 'id;name\n6;excluded\n');
    await putObject(bucket, 'mix/g.txt', 'not selected');
    const options = { delimiter: ';', encoding: 'windows-1252', include: ['**/*.csv', '*.tsv.gz', '*.jsonl.zst'], exclude: ['_tmp/**'] };
    const sync = syncBetween(s3Endpoint(bucket, 'mix/', options), tableEndpoint(pg, 'mixed_objects'), { keyColumns: ['id'] });
    const { status } = await runOnce(sync, await tempDir('idra-state-'));
    expect([status.rowsCopied, status.rowsSkipped]).toEqual([5, 0]);
    expect(await pg.rows('mixed_objects', ['id'])).toEqual([
      { id: '1', name: 'semicolons' },
      // .tsv: a tab, whatever the delimiter option says.
      { id: '2', name: 'tabs' },
      { id: '3', name: 'zstd' },
      { id: '4', name: 'café' },
      // A UTF-16 byte order mark decides over the encoding option.
      { id: '5', name: 'utf-16 ✓' },
    ]);
  });

  it('PG → S3 as zstd-compressed CSV with another delimiter and no header line → PG', async () => {
    const bucket = await newBucket();
    await pg.exec('create table csv_zstd (id bigint primary key, name text, amount numeric(10,2))');
    await insertRows(pg, 'csv_zstd', [...numberedRows(1, 4), { id: '5', name: 'a;b "c"', amount: null }]);
    const out = syncBetween(tableEndpoint(pg, 'csv_zstd'), s3Endpoint(bucket, 'z/', { format: 'csv', delimiter: ';', header: false, compression: 'zstd' }), {
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
    });
    await runOnce(out, await tempDir('idra-state-'));
    expect(await keys(bucket)).toEqual(['z/00000000000000000001.csv.zst']);
    expect(await objectText(bucket, 'z/00000000000000000001.csv.zst')).toMatch(/^1;row 1;1\.25\r\n.*5;"a;b ""c""";\r\n$/s);
    const back = syncBetween(
      s3Endpoint(bucket, 'z/', { format: 'csv', delimiter: ';', header: false, columnNames: ['id', 'name', 'amount'] }),
      tableEndpoint(pg, 'csv_zstd_back'),
      {
        keyColumns: ['id'],
      },
    );
    await runOnce(back, await tempDir('idra-state-'));
    expect((await pg.rows('csv_zstd_back', ['id'])).map(canonicalRow)).toEqual((await pg.rows('csv_zstd', ['id'])).map(canonicalRow));
  });

  it('an object whose compression is corrupt follows the error policy from where it breaks; the next objects are read', async () => {
    const bucket = await newBucket();
    const good = gzipSync(
      numberedRows(1, 3)
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    // The first bytes say gzip, the rest is garbage.
    await putObject(bucket, 'bad/1.jsonl.gz', Buffer.concat([good.subarray(0, 10), Buffer.alloc(64, 7)]));
    await putObject(bucket, 'bad/2.jsonl', JSON.stringify(numberedRows(4, 1)[0]));
    const sync = syncBetween(s3Endpoint(bucket, 'bad/'), tableEndpoint(pg, 'corrupt'), { keyColumns: ['id'], onError: 'skip' });
    const { status, run } = await runOnce(sync, await tempDir('idra-state-'));
    expect([status.rowsCopied, status.rowsSkipped]).toEqual([1, 1]);
    expect(run.deadLetters[0]!.row).toMatchObject({ key: 'bad/1.jsonl.gz', line: 1 });
    expect(run.deadLetters[0]!.error).toMatch(/s3 source: object bad\/1\.jsonl\.gz cannot be read from line 1 on: /);
  });

  it('an object is streamed, not read whole: reading 128 MB of gzipped JSON Lines keeps the memory of a batch', async () => {
    const bucket = await newBucket();
    const payload = 'x'.repeat(1000);
    const lines = 128 * 1024;
    // Compressed as it is produced: the test holds the few MB of gzip, never the 128 MB of text.
    const gzip = createGzip({ level: 1 });
    const compressed = (async () => {
      const chunks: Buffer[] = [];
      for await (const c of gzip) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    })();
    for (let i = 1; i <= lines; i++) if (!gzip.write(`{"id":"${i}","payload":"${payload}"}\n`)) await once(gzip, 'drain');
    gzip.end();
    await putObject(bucket, 'big/1.jsonl.gz', await compressed);
    const sync = syncBetween(s3Endpoint(bucket, 'big/'), tableEndpoint(pg, 'never_written'), { batchSize: 1000 });
    const source = await S3Source.open({ sync, endpoint: { ...sync.source, connection: sync.source.connection! }, role: 'source' });
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      let position: Position = { kind: 'stream', value: null };
      let rows = 0;
      for (;;) {
        const batch = await source.read(position, 1000, new AbortController().signal);
        if (batch.rows.length === 0) break;
        rows += batch.rows.length;
        position = batch.position;
      }
      expect(rows).toBe(lines);
      expect(position.value).toMatchObject({ key: 'big/1.jsonl.gz', line: lines + 1, read: ['big/1.jsonl.gz'] });
    } finally {
      clearInterval(sampler);
      await source.close();
    }
    // Measured here: read whole (before), 641 MB more (the bytes, the text, its lines); streamed, 63 MB on a quiet
    // machine and 164 MB at load average 40, where the garbage of 128 MB of text outlives a collection for longer.
    expect((peak - baseline) / 2 ** 20).toBeLessThan(256);
  }, 120_000);

  it('lag: the age of the oldest object not read yet and the newest key; none once caught up', async () => {
    const bucket = await newBucket();
    await putObject(bucket, 'lag/1.jsonl', JSON.stringify({ id: '1' }));
    const state = await tempDir('idra-state-');
    const sync = syncBetween(s3Endpoint(bucket, 'lag/'), tableEndpoint(pg, 'lagging'), { keyColumns: ['id'] });
    const { status } = await runOnce(sync, state);
    expect(status.lag).toEqual({ seconds: 0, head: undefined });
    await putObject(bucket, 'lag/2.jsonl', JSON.stringify({ id: '2' }));
    const source = await S3Source.open({ sync, endpoint: { ...sync.source, connection: sync.source.connection! }, role: 'source' });
    try {
      const lag = await source.lag(status.position!);
      expect(lag?.head).toBe('lag/2.jsonl');
      expect(lag?.seconds).toBeGreaterThanOrEqual(0);
      expect(lag?.seconds).toBeLessThan(60);
    } finally {
      await source.close();
    }
  });

  it('a missing bucket is named in the status until it exists (createBucket is off)', async () => {
    const bucket = `idra-${process.pid}-later`;
    await pg.exec('create table few (id bigint primary key, name text, amount text)');
    await insertRows(pg, 'few', numberedRows(1, 3));
    const run = new TestRun(syncBetween(tableEndpoint(pg, 'few'), s3Endpoint(bucket, ''), { mode: 'id', cursorColumn: 'id' }), await tempDir('idra-state-'));
    try {
      const retrying = await run.waitFor((s) => s.state === 'retrying');
      expect(retrying.lastError?.message).toMatch(new RegExp(`s3 destination: bucket ${bucket} does not exist \\(set options.createBucket`));
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      await run.waitFor((s) => s.state === 'idle' && s.rowsCopied === 3);
    } finally {
      await run.runner.stop();
    }
  });

  it.runIf(!process.env['IDRA_TEST_S3_URL'])(
    'server down: the status says retrying with the cause, and the sync goes on when the server is back (needs a server the test starts)',
    async () => {
      const server = s3.own!;
      const bucket = await newBucket();
      await putObject(
        bucket,
        'o/1.jsonl',
        numberedRows(1, 5)
          .map((r) => JSON.stringify(r))
          .join('\n'),
      );
      const state = await tempDir('idra-state-');
      const sync = syncBetween(s3Endpoint(bucket, 'o/'), tableEndpoint(pg, 'outage'), { keyColumns: ['id'] });
      expect((await runOnce(sync, state)).status.rowsCopied).toBe(5);
      await server.kill();
      const run = new TestRun(sync, state);
      try {
        const retrying = await run.waitFor((s) => s.state === 'retrying', 30_000);
        expect(retrying.lastError?.message).toMatch(/^s3 source: .*ECONNREFUSED/);
        await server.start();
        await putObject(
          bucket,
          'o/2.jsonl',
          numberedRows(6, 2)
            .map((r) => JSON.stringify(r))
            .join('\n'),
        );
        await run.waitFor((s) => s.state === 'idle' && s.rowsCopied === 2, 60_000);
      } finally {
        await run.runner.stop();
      }
      expect(await pg.count('outage')).toBe(7);
    },
    120_000,
  );
});

describeConnectorContract(() => ({
  connector: 's3',
  pg: () => pg,
  place: async (name) => {
    const bucket = `idra-${process.pid}-contract`;
    return { destination: s3Endpoint(bucket, `${name}/`, { createBucket: true }), source: s3Endpoint(bucket, `${name}/`), sourceSync: {} };
  },
  hangable: () => s3.own,
  unreachable: async () => ({ connector: 's3', connection: { url: `http://127.0.0.1:${await freePort()}`, user: 'x', password: 'y' }, bucket: 'nowhere' }),
  discovery: (place) => ({ connection: place.source.connection!, listed: { schema: place.source.bucket, name: place.source.prefix! } }),
}));
