import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConfigStore, KEYS, SecretBox, connectEtcd, isSealed, type EtcdConnection } from '@idra/core';
import { rotateSecretKey } from './rotate-secret-key.ts';

const OLD = new SecretBox('old-secret-key-0123456789');
const NEW = new SecretBox('new-secret-key-9876543210');

describe('scripts/rotate-secret-key.ts (real etcd)', () => {
  let etcd: EtcdConnection;
  beforeAll(() => {
    etcd = connectEtcd({ endpoints: inject('etcdEndpoints'), prefix: `/idra-rotate-${process.pid}-${Date.now()}/` });
  });
  afterAll(async () => {
    await etcd.ns.delete().all();
    etcd.close();
  });

  it('re-encrypts data source and inline sync secrets with the new key; a rerun changes nothing; a wrong key changes nothing', async () => {
    const before = new ConfigStore(etcd.ns, OLD);
    await before.putDataSource({ id: 'shop', connector: 'postgres', connection: { host: 'db', user: 'shop', password: 'pg-secret', database: 'shop' } });
    await before.putSync({
      id: 'orders',
      source: { connector: 'postgres', dataSourceId: 'shop', table: 'orders' },
      destination: { connector: 'mysql', connection: { url: 'mysql://idra:my-secret@dw:3306/dw' }, table: 'orders' },
      mode: 'id',
      cursorColumn: 'id',
    });

    await expect(rotateSecretKey(etcd.ns, new SecretBox('wrong-secret-key-000000'), NEW)).rejects.toThrow(/neither the current nor the new key decrypts it/);
    expect(await new ConfigStore(etcd.ns, OLD).resolveSync((await before.getSync('orders'))!)).toBeDefined();

    const result = await rotateSecretKey(etcd.ns, OLD, NEW);
    expect(result.rewritten.sort()).toEqual([KEYS.dataSource('shop'), KEYS.sync('orders')]);

    const after = new ConfigStore(etcd.ns, NEW);
    const sync = await after.resolveSync((await after.getSync('orders'))!);
    expect(sync.source.connection.password).toBe('pg-secret');
    expect(sync.destination.connection.url).toBe('mysql://idra:my-secret@dw:3306/dw');
    expect(isSealed((await after.getDataSource('shop'))!.connection.password)).toBe(true);
    await expect(new ConfigStore(etcd.ns, OLD).resolveSync((await after.getSync('orders'))!)).rejects.toThrow(/the key differs/);

    expect(await rotateSecretKey(etcd.ns, OLD, NEW)).toEqual({ rewritten: [], alreadyRotated: [KEYS.dataSource('shop'), KEYS.sync('orders')] });
  });
});
