import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConfigStore, KEYS, NotifyStore, SecretBox, connectEtcd, isSealed, type EtcdConnection } from '@idra/core';
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

  it('re-encrypts data source, inline sync and notification channel secrets with the new key; a rerun changes nothing; a wrong key changes nothing', async () => {
    const before = new ConfigStore(etcd.ns, OLD);
    await before.putDataSource({ id: 'shop', connector: 'postgres', connection: { host: 'db', user: 'shop', password: 'pg-secret', database: 'shop' } });
    await before.putSync({
      id: 'orders',
      source: { connector: 'postgres', dataSourceId: 'shop', table: 'orders' },
      destination: { connector: 'mysql', connection: { url: 'mysql://idra:my-secret@dw:3306/dw' }, table: 'orders' },
      mode: 'id',
      cursorColumn: 'id',
    });
    const slack = { id: 'team', kind: 'slack' as const, url: 'https://hooks.slack.com/services/T0/B0/XXXX' };
    const hook = { id: 'hook', kind: 'webhook' as const, url: 'https://ops.example.com/idra', secret: 'hmac-secret-0123456789' };
    for (const c of [slack, hook]) await new NotifyStore(etcd.ns, OLD).putChannel(c);

    await expect(rotateSecretKey(etcd.ns, new SecretBox('wrong-secret-key-000000'), NEW)).rejects.toThrow(/neither the current nor the new key decrypts it/);
    expect(await new ConfigStore(etcd.ns, OLD).resolveSync((await before.getSync('orders'))!)).toBeDefined();

    const result = await rotateSecretKey(etcd.ns, OLD, NEW);
    const rotated = [KEYS.dataSource('shop'), KEYS.notifyChannel('hook'), KEYS.notifyChannel('team'), KEYS.sync('orders')];
    expect(result.rewritten.sort()).toEqual(rotated);
    const channels = new NotifyStore(etcd.ns, NEW);
    expect(await Promise.all(['team', 'hook'].map(async (id) => channels.open((await channels.getChannel(id))!)))).toEqual([slack, hook]);
    expect(isSealed((await channels.getChannel('team'))!.url)).toBe(true);

    const after = new ConfigStore(etcd.ns, NEW);
    const sync = await after.resolveSync((await after.getSync('orders'))!);
    expect(sync.source.connection.password).toBe('pg-secret');
    expect(sync.destination.connection.url).toBe('mysql://idra:my-secret@dw:3306/dw');
    expect(isSealed((await after.getDataSource('shop'))!.connection.password)).toBe(true);
    await expect(new ConfigStore(etcd.ns, OLD).resolveSync((await after.getSync('orders'))!)).rejects.toThrow(/the key differs/);

    const again = await rotateSecretKey(etcd.ns, OLD, NEW);
    expect({ ...again, alreadyRotated: again.alreadyRotated.sort() }).toEqual({ rewritten: [], alreadyRotated: rotated });
  });
});
