// Re-encrypts every secret stored in etcd (data sources, syncs: connections, headers, URLs;
// notification channels: their URL and signing secret) from
// the current IDRA_SECRET_KEY to IDRA_NEW_SECRET_KEY. See docs/operations.md, "Rotate IDRA_SECRET_KEY".
//
//   IDRA_ETCD_ENDPOINTS=… IDRA_SECRET_KEY=<old> IDRA_NEW_SECRET_KEY=<new> node scripts/rotate-secret-key.ts
//
// Everything is decrypted first: a wrong old key changes nothing. Documents already sealed with the
// new key are left alone, so a run that was interrupted can simply be run again.
import { KEYS, SecretBox, connectEtcd, errorMessage, hasSecrets, isSealed, openSecrets, sealSecrets, type Channel, type EtcdConnection } from '@idra/core';

/** What a rotation rewrote. */
export interface RotationResult {
  rewritten: string[];
  alreadyRotated: string[];
}

interface StoredDocument {
  key: string;
  modRevision: string;
  /** A data source or a sync (its secrets may sit anywhere in it: connections, headers, URLs), or a notification channel. */
  doc: unknown;
  reseal: Reseal;
}

type Reseal = (doc: unknown, current: SecretBox, next: SecretBox) => unknown;

/** Data sources and syncs: sealed by the one rule of what is secret. */
const byRule: Reseal = (doc, current, next) => sealSecrets(openSecrets(doc, current), next);
/** Notification channels: the URL and the signing secret, sealed whatever they look like. */
const channelFields: Reseal = (doc, current, next) => {
  const c = doc as Channel;
  const again = (v: string) => (isSealed(v) ? next.encrypt(current.decrypt(v)) : v);
  return { ...c, url: again(c.url), secret: c.secret === undefined ? undefined : again(c.secret) };
};

/** Re-seals every stored secret with `next`; each document is written only if it did not change meanwhile. */
export async function rotateSecretKey(ns: EtcdConnection['ns'], current: SecretBox, next: SecretBox): Promise<RotationResult> {
  const stored: StoredDocument[] = [];
  for (const [prefix, reseal] of [
    [KEYS.dataSources, byRule],
    [KEYS.syncs, byRule],
    [KEYS.notifyChannels, channelFields],
  ] as const) {
    const res = await ns.getAll().prefix(prefix).exec();
    for (const kv of res.kvs) stored.push({ key: kv.key.toString(), modRevision: kv.mod_revision, doc: JSON.parse(kv.value.toString()) as unknown, reseal });
  }
  const result: RotationResult = { rewritten: [], alreadyRotated: [] };
  const updates: Array<{ item: StoredDocument; value: string }> = [];
  for (const item of stored) {
    if (!hasSecrets(item.doc)) continue;
    let resealed: unknown;
    try {
      resealed = item.reseal(item.doc, current, next);
    } catch (err) {
      // Sealed with the new key already (an earlier, interrupted run)?
      try {
        openSecrets(item.doc, next);
      } catch {
        throw new Error(`${item.key}: neither the current nor the new key decrypts it (${errorMessage(err)})`);
      }
      result.alreadyRotated.push(item.key);
      continue;
    }
    updates.push({ item, value: JSON.stringify(resealed) });
  }
  for (const { item, value } of updates) {
    const res = await ns.if(item.key, 'Mod', '==', item.modRevision).then(ns.put(item.key).value(value)).commit();
    if (!res.succeeded) throw new Error(`${item.key} changed during the rotation: run the rotation again`);
    result.rewritten.push(item.key);
  }
  return result;
}

if (import.meta.main) {
  const env = process.env;
  const endpoints = (env.IDRA_ETCD_ENDPOINTS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (endpoints.length === 0 || !env.IDRA_SECRET_KEY || !env.IDRA_NEW_SECRET_KEY) {
    process.stderr.write('usage: IDRA_ETCD_ENDPOINTS=… IDRA_SECRET_KEY=<current> IDRA_NEW_SECRET_KEY=<new> node scripts/rotate-secret-key.ts\n');
    process.exit(2);
  }
  const etcd = connectEtcd({
    endpoints,
    prefix: env.IDRA_ETCD_PREFIX ?? '/idra/',
    username: env.IDRA_ETCD_USERNAME,
    password: env.IDRA_ETCD_PASSWORD,
    tls: { ca: env.IDRA_ETCD_CA, cert: env.IDRA_ETCD_CERT, key: env.IDRA_ETCD_KEY },
  });
  try {
    const { rewritten, alreadyRotated } = await rotateSecretKey(etcd.ns, new SecretBox(env.IDRA_SECRET_KEY), new SecretBox(env.IDRA_NEW_SECRET_KEY));
    process.stdout.write(`re-encrypted ${rewritten.length} document(s)${alreadyRotated.length ? `; ${alreadyRotated.length} already used the new key` : ''}\n`);
    for (const key of rewritten) process.stdout.write(`  ${key}\n`);
  } catch (err) {
    process.stderr.write(`rotate-secret-key: ${errorMessage(err)}\n`);
    process.exitCode = 1;
  } finally {
    etcd.close();
  }
}
