import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { provisionOnce } from './internal/provision-cache.ts';
import { provisionFerretdb, provisionKafka, startFerretdb, startS3 } from './index.ts';
import { findExecutable } from './internal/executables.ts';
import { formatKafkaStorage } from './kafka.ts';

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('provisioning cache', () => {
  it('builds a target once, renames it into place whole, and reuses it; concurrent callers share one build', async () => {
    const root = await mkdtemp(join(tmpdir(), 'idra-provision-'));
    try {
      const target = join(root, 'thing-1');
      let builds = 0;
      const build = async (staging: string) => {
        builds++;
        await new Promise((r) => setTimeout(r, 300));
        await rm(join(staging, 'nothing'), { force: true });
      };
      const [a, b] = await Promise.all([provisionOnce(target, build), provisionOnce(target, build)]);
      expect(builds).toBe(1);
      expect([a.built, b.built].sort()).toEqual([false, true]);
      expect(existsSync(target)).toBe(true);
      expect((await provisionOnce(target, build)).built).toBe(false);
      expect(await readdir(root)).toEqual(['thing-1']);

      const failing = join(root, 'broken');
      await expect(
        provisionOnce(failing, async () => {
          throw new Error('no network');
        }),
      ).rejects.toThrow('no network');
      expect(existsSync(failing)).toBe(false);
      expect(await readdir(root)).toEqual(['thing-1']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('formats Kafka storage for a cluster id that starts with a dash (a random base64url id does, once in 64)', async () => {
    const { path: home } = await provisionKafka();
    const dir = await mkdtemp(join(tmpdir(), 'idra-kafka-format-'));
    try {
      const config = join(dir, 'server.properties');
      const data = join(dir, 'data');
      await writeFile(
        config,
        [
          'process.roles=broker,controller',
          'node.id=1',
          'controller.quorum.voters=1@127.0.0.1:9',
          'listeners=PLAINTEXT://127.0.0.1:8,CONTROLLER://127.0.0.1:9',
          'controller.listener.names=CONTROLLER',
          `log.dirs=${data}`,
          '',
        ].join('\n'),
      );
      await formatKafkaStorage(findExecutable('java', 'openjdk-17-jre-headless'), home, dir, config, '-leadingDashClusterId0');
      expect(await readFile(join(data, 'meta.properties'), 'utf8')).toMatch(/cluster\.id=-leadingDashClusterId0/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('finds the Kafka jars and the FerretDB program cached after the first provisioning', async () => {
    await provisionKafka();
    await provisionFerretdb();
    const [kafka, ferretdb] = await Promise.all([provisionKafka(), provisionFerretdb()]);
    expect(kafka.built).toBe(false);
    expect(ferretdb.built).toBe(false);
    expect((await readdir(join(kafka.path, 'libs'))).some((jar) => /^kafka_2\.13-4\.\d+\.\d+\.jar$/.test(jar))).toBe(true);
    expect(existsSync(join(ferretdb.path, 'ferretdb'))).toBe(true);
  }, 900_000);
});

describe('startFerretdb', () => {
  it('serves MongoDB commands, keeps its data across a kill and restart, and refuses connections when stopped', async () => {
    const server = await startFerretdb();
    const client = new MongoClient(server.url, { serverSelectionTimeoutMS: 2_000, directConnection: true });
    try {
      await client
        .db('t')
        .collection('c')
        .insertOne({ _id: 'kept' as never, n: 1 });
      await server.kill();
      expect(server.running).toBe(false);
      await server.start();
      expect(await client.db('t').collection('c').findOne({})).toEqual({ _id: 'kept', n: 1 });
    } finally {
      await client.close();
      await server.stop();
    }
    const after = new MongoClient(server.url, { serverSelectionTimeoutMS: 500, directConnection: true });
    await expect(after.connect()).rejects.toThrow(/ECONNREFUSED|Server selection timed out/);
    await after.close();
  });
});

describe('startS3', () => {
  it('answers S3 requests, survives a kill and restart on its directory, and is gone once stopped', async () => {
    const server = await startS3();
    try {
      expect(await httpStatus(`${server.url}/`)).toBe(200);
      await server.kill();
      await expect(httpStatus(`${server.url}/`)).rejects.toThrow(/ECONNREFUSED/);
      await server.start();
      expect(await httpStatus(`${server.url}/`)).toBe(200);
    } finally {
      await server.stop();
    }
    await expect(httpStatus(`${server.url}/`)).rejects.toThrow(/ECONNREFUSED/);
  });
});
