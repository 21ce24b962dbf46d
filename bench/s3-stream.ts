import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createDatabase, startS3, tempDir } from '@idra/testkit';
import { runAgentUntil } from './lib.ts';

/** What reading one big S3 object cost the agent. */
export interface S3StreamResult {
  objectMb: number;
  rows: number;
  seconds: number;
  peakRssMb: number;
}

/**
 * One JSON Lines object of `megabytes` (uncompressed, ~1 KB lines) in s3rver, copied to PostgreSQL
 * by the shipped agent: the peak RSS shows whether the object is streamed or held whole.
 */
export async function benchS3Stream(opts: { pgUrl: string; megabytes: number }): Promise<S3StreamResult> {
  const dir = await tempDir('idra-bench-s3-');
  const file = join(dir, 'big.jsonl');
  const out = createWriteStream(file);
  let rows = 0;
  let bytes = 0;
  while (bytes < opts.megabytes * 2 ** 20) {
    const line = `{"id":"${++rows}","payload":"${String(rows).padStart(12, '0').repeat(80)}"}\n`;
    bytes += line.length;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const s3 = await startS3();
  const db = await createDatabase('postgres', opts.pgUrl);
  try {
    const client = new S3Client({
      endpoint: s3.url,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      // s3rver stores the aws-chunked framing of a streamed upload as if it were data: plain PUTs only.
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
    const size = (await stat(file)).size;
    await client.send(new PutObjectCommand({ Bucket: 'bench', Key: 'in/big.jsonl', Body: createReadStream(file), ContentLength: size }));
    client.destroy();
    const result = await runAgentUntil({
      dir,
      target: (v) => Array.isArray((v as { read?: unknown }).read) && (v as { read: string[] }).read.includes('in/big.jsonl'),
      sync: {
        id: 's3-stream',
        source: {
          connector: 's3',
          connection: { url: s3.url, user: s3.accessKeyId, password: s3.secretAccessKey },
          bucket: 'bench',
          prefix: 'in/',
          options: { region: s3.region },
        },
        destination: { connector: 'postgres', connection: { url: db.url }, table: 'big' },
        mode: 'stream',
        keyColumns: ['id'],
        batchSize: 5000,
        pollIntervalMs: 1000,
      },
    });
    return { objectMb: Math.round(size / 2 ** 20), rows, ...result };
  } finally {
    await Promise.all([s3.stop(), db.drop()]);
  }
}
