import { createHash } from 'node:crypto';

/**
 * The digest of a range of keys that key reconciliation compares across two tables: each key's text (its columns'
 * text joined by U+001F), the first 60 bits of its MD5 as an integer, summed over the range as a decimal number. A sum
 * does not depend on the order the database reads the keys in, never overflows (PostgreSQL numeric, MariaDB decimal,
 * a bigint here), and two different sets of keys give the same sum with a chance of about 2^-60. PostgreSQL and
 * MariaDB compute it in SQL; SQLite through {@link keyDigestStep}, registered on each connection.
 */
export const KEY_DIGEST_FORM = 'md5-60-sum';

/** The SQLite aggregate that computes the digest. */
export const SQLITE_KEY_DIGEST = 'idra_key_digest';

/** The digest's sum with one more key, whose column values are `parts`. */
export function keyDigestStep(sum: bigint, ...parts: unknown[]): bigint {
  return sum + BigInt(`0x${createHash('md5').update(parts.map(String).join('\u001f')).digest('hex').slice(0, 15)}`);
}
