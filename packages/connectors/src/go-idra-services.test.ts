import { createServer, type Server } from 'node:http';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  kafkaForTests,
  mongoForTests,
  s3ForTests,
  tempDir,
  type KafkaServer,
  type MongoServer,
  type S3Address,
  type S3Server,
  type ServerForTests,
} from '@idra/testkit';
import { FileOffsetStore } from '@idra/core';
import { createTestDb, runOnce, type TestDb } from './testing/fixtures.ts';
import { goPostgresDsn, importedGoSync } from './testing/go-idra.ts';

let pg: TestDb;
let kafka: ServerForTests<string[], KafkaServer>;
let mongo: ServerForTests<string, MongoServer>;
let s3: ServerForTests<S3Address, S3Server>;

const ROWS = 12;
/** Go Idra's PostgresGORM connector on the test database. */
const pgConnector = (table: string, extra: Record<string, unknown> = {}) => ({
  id: 'id',
  connector_name: table,
  connector_source_type: 'PostgresGORM',
  connection_string: goPostgresDsn(pg),
  table,
  max_record_batch_size: 5,
  save_mode: 'Upsert',
  ...extra,
});
const goSync = (id: string, mode: string, source: object, destination: object) => ({
  id,
  sync_name: id,
  mode,
  disabled: false,
  source_connector: source,
  destination_connector: destination,
});

beforeAll(async () => {
  [pg, kafka, mongo, s3] = await Promise.all([createTestDb('postgres'), kafkaForTests(), mongoForTests(), s3ForTests()]);
  await pg.exec('create table agencies (id bigint primary key, name text not null)');
  await pg.exec(`insert into agencies select g, 'agency ' || g from generate_series(1, ${ROWS}) g`);
}, 240_000);

afterAll(async () => {
  await Promise.all([pg?.drop(), kafka?.stop(), mongo?.stop(), s3?.stop()]);
});

describe('Go Idra documents run end to end (Kafka host:port, MongodbConnector, s3JsonConnector, RestConnector)', { timeout: 120_000 }, () => {
  it('KafkaConnector with a host:port bootstrap list: PG → topic (Default mode), topic → PG (stream, start_offset as partition 0 start)', async () => {
    const client = new Kafka({ brokers: kafka.address, logLevel: logLevel.NOTHING });
    const admin = client.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'go-agencies', numPartitions: 1 }], waitForLeaders: true });
      const kafkaConnector = (extra: Record<string, unknown> = {}) => ({
        id: 'id',
        connector_name: 'k',
        connector_source_type: 'KafkaConnector',
        connection_string: kafka.address.join(','),
        table: 'go-agencies',
        ...extra,
      });
      const out = importedGoSync(
        goSync('go-to-kafka', 'IdField', pgConnector('agencies'), kafkaConnector({ attributes: { acks: 'all', 'client.id': 'go-writer' } })),
      );
      expect(out.sync).toMatchObject({
        mode: 'id',
        keyColumns: ['id'],
        destination: { connector: 'kafka', topic: 'go-agencies', options: { clientId: 'go-writer' } },
      });
      expect((await runOnce(out.sync, await tempDir('idra-go-'))).status.rowsCopied).toBe(ROWS);
      const [partition] = await admin.fetchTopicOffsets('go-agencies');
      expect(Number(partition!.high)).toBe(ROWS);

      // Back into PostgreSQL, from offset 4 of partition 0 (Go's seek): messages 4.. only.
      const back = importedGoSync(
        goSync('go-from-kafka', 'Default', kafkaConnector({ id: '', start_offset: 4, attributes: { 'group.id': 'go-group' } }), pgConnector('agencies_back')),
      );
      expect(back.sync.mode).toBe('stream');
      expect(back.seed).toEqual({ kind: 'stream', value: { '0': '4' } });
      // Seeded as single mode and the API seed it: before the first run.
      const state = await tempDir('idra-go-');
      await new FileOffsetStore(state).commit(back.sync.id, back.seed!, { agentId: 'seed', epoch: 0 });
      expect((await runOnce(back.sync, state)).status.rowsCopied).toBe(ROWS - 4);
      expect((await pg.rows('agencies_back', ['id'])).map((r) => Number(r.id))).toEqual(Array.from({ length: ROWS - 4 }, (_, i) => i + 5));
    } finally {
      await admin.disconnect();
    }
  });

  it('MongodbConnector as a destination (database from the connector): documents inserted; as a source it needs a replica set (none runs here: import only)', async () => {
    const mongoConnector = {
      id: 'id',
      connector_name: 'm',
      connector_source_type: 'MongodbConnector',
      connection_string: mongo.address,
      database: 'go_crm',
      table: 'agencies',
    };
    const { sync } = importedGoSync(goSync('go-to-mongo', 'IdField', pgConnector('agencies'), mongoConnector));
    expect(sync).toMatchObject({ writeMode: 'insert', destination: { connector: 'mongodb', collection: 'agencies', connection: { database: 'go_crm' } } });
    expect((await runOnce(sync, await tempDir('idra-go-'))).status.rowsCopied).toBe(ROWS);
    const client = new MongoClient(mongo.address, { serverSelectionTimeoutMS: 5_000 });
    try {
      await client.connect();
      const docs = await client
        .db('go_crm')
        .collection('agencies')
        .find({}, { projection: { _id: 0 } })
        .sort({ id: 1 })
        .toArray();
      expect(docs).toHaveLength(ROWS);
      expect(docs[0]).toMatchObject({ name: 'agency 1' });
    } finally {
      await client.close();
    }
    expect(importedGoSync(goSync('go-from-mongo', 'Default', mongoConnector, pgConnector('from_mongo'))).sync.mode).toBe('stream');
  });

  it('s3JsonConnector as a destination (an endpoint URL, the bucket/prefix in table, credentials from the AWS environment as Go took them)', async () => {
    const client = new S3Client({
      endpoint: s3.address.url,
      region: s3.address.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.address.accessKeyId, secretAccessKey: s3.address.secretAccessKey },
    });
    await client.send(new CreateBucketCommand({ Bucket: 'go-exports' }));
    process.env.AWS_ACCESS_KEY_ID = s3.address.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.address.secretAccessKey;
    const { sync, report } = importedGoSync(
      goSync('go-to-s3', 'IdField', pgConnector('agencies'), {
        connector_name: 's3',
        connector_source_type: 's3JsonConnector',
        connection_string: s3.address.url,
        table: 'go-exports/agencies/',
      }),
    );
    expect(sync.destination).toMatchObject({ connector: 's3', bucket: 'go-exports', prefix: 'agencies/', options: { format: 'jsonl' } });
    expect(report.fields.some((f) => /AWS_ACCESS_KEY/.test(f.detail))).toBe(true);
    expect((await runOnce(sync, await tempDir('idra-go-'))).status.rowsCopied).toBe(ROWS);
    const listed = await client.send(new ListObjectsV2Command({ Bucket: 'go-exports', Prefix: 'agencies/' }));
    const lines: string[] = [];
    for (const o of listed.Contents ?? [])
      lines.push(
        ...(await (await client.send(new GetObjectCommand({ Bucket: 'go-exports', Key: o.Key! }))).Body!.transformToString()).split('\n').filter(Boolean),
      );
    expect(lines.map((l) => Number((JSON.parse(l) as { id: string }).id)).sort((a, b) => a - b)).toEqual(Array.from({ length: ROWS }, (_, i) => i + 1));
  });

  it('RestConnector: POSTs each batch as a bare JSON array with the bearer token; reads ?id=<last id> pages with basic auth and attributes as parameters', async () => {
    const received: unknown[][] = [];
    const requests: string[] = [];
    const items = Array.from({ length: 9 }, (_, i) => ({ id: i + 1, title: `post ${i + 1}` }));
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        requests.push(`${req.method} ${req.url} ${req.headers.authorization}`);
        res.setHeader('content-type', 'application/json');
        if (req.method === 'POST' && req.headers.authorization === 'Bearer go-token') {
          received.push(JSON.parse(body) as unknown[]);
          return res.end('{}');
        }
        const url = new URL(req.url!, 'http://x');
        if (
          req.method === 'GET' &&
          req.headers.authorization === `Basic ${Buffer.from('reader:secret').toString('base64')}` &&
          url.searchParams.get('tenant') === 'acme'
        ) {
          const after = Number(url.searchParams.get('id') ?? '0');
          return res.end(JSON.stringify(items.filter((i) => i.id > after).slice(0, 4)));
        }
        res.statusCode = 401;
        res.end('{"error":"no"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    // What an admin does for an API on a private address (Go's REST connector reached any address).
    process.env.IDRA_HTTP_ALLOW = '127.0.0.1';
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const out = importedGoSync(
        goSync('go-to-rest', 'IdField', pgConnector('agencies'), {
          id: 'id',
          connector_name: 'api',
          connector_source_type: 'RestConnector',
          connection_string: `${base}/ingest`,
          token: 'go-token',
        }),
      );
      expect((await runOnce(out.sync, await tempDir('idra-go-'))).status.rowsCopied).toBe(ROWS);
      expect(received.every((batch) => Array.isArray(batch) && batch.length <= 5)).toBe(true);
      expect(
        received
          .flat()
          .map((r) => Number((r as { id: string }).id))
          .sort((a, b) => a - b),
      ).toEqual(Array.from({ length: ROWS }, (_, i) => i + 1));

      const source = {
        id: 'id',
        connector_name: 'feed',
        connector_source_type: 'RestConnector',
        connection_string: `${base}/posts`,
        attributes: { username: 'reader', password: 'secret', tenant: 'acme' },
      };
      const back = importedGoSync(goSync('go-from-rest', 'IdField', source, pgConnector('posts')));
      expect(back.sync).toMatchObject({
        mode: 'stream',
        source: { connector: 'http', options: { cursorParam: 'id', cursorField: 'id', itemsPath: '', params: { tenant: 'acme' } } },
      });
      expect((await runOnce(back.sync, await tempDir('idra-go-'))).status.rowsCopied).toBe(9);
      expect(await pg.count('posts')).toBe(9);
      expect(requests.some((r) => r.startsWith('GET /posts?tenant=acme&id=4 '))).toBe(true);
      expect(requests.every((r) => !r.includes('password=secret'))).toBe(true);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
