import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { KeyLister, LogicalType, ResolvedEndpoint } from '@idra/core';
import type { SqlDialect, SqlPool } from './dialect.ts';
import { selectFromEndpoint } from './table-ref.ts';
import { cursorText } from './values.ts';
import { wrapSqlError } from './sql-errors.ts';

/**
 * `(c1, …, cn) > (v1, …, vn)` written as `c1 >= v1 AND (c1 > v1 OR (c1 = v1 AND c2 > v2) …)`: the
 * leading range lets every database use an index on the columns, and it works where row values do not.
 */
export function keysetAfter(eb: ExpressionBuilder<any, any>, columns: string[], values: unknown[]): Expression<SqlBool> {
  const branches = columns.map((col, i) =>
    eb.and([...columns.slice(0, i).map((prev, j) => eb(eb.ref(prev), '=', values[j])), eb(eb.ref(col), '>', values[i])]),
  );
  return eb.and([eb(eb.ref(columns[0]!), '>=', values[0]), eb.or(branches)]);
}

/** Keys per lookup statement: within every dialect's parameter limit. */
const KEYS_PER_LOOKUP = 1000;

/**
 * The keys of an endpoint's table, in key order, as canonical text. `types` gives the key columns'
 * types, or undefined when the table does not exist (it then has no keys).
 */
export function sqlKeyLister(
  dialect: SqlDialect,
  pool: SqlPool,
  endpoint: ResolvedEndpoint,
  role: 'source' | 'destination',
  sync: { id: string; keyColumns: string[] },
  types: () => Promise<Array<LogicalType | undefined> | undefined>,
): KeyLister {
  const keys = sync.keyColumns;
  const run = async <T>(fn: (bind: (values: readonly string[]) => unknown[]) => Promise<T>, empty: T): Promise<T> => {
    try {
      const t = await types();
      if (!t) return empty;
      return await fn((values) => values.map((v, i) => dialect.toParameter(v, t[i])));
    } catch (err) {
      throw wrapSqlError(dialect, role, sync.id, err);
    }
  };
  const text = (rows: Array<Record<string, unknown>>) => rows.map((r) => keys.map((k) => cursorText(r[k]) ?? ''));
  /** The table's non-null keys after `after` up to `upTo`. */
  const range = (bind: (values: readonly string[]) => unknown[], after: string[] | null, upTo: string[] | null) => {
    let q = selectFromEndpoint(dialect.db, endpoint);
    for (const k of keys) q = q.where(k, 'is not', null);
    if (after) q = q.where((eb) => keysetAfter(eb, keys, bind(after)));
    if (upTo) {
      const bound = bind(upTo);
      // The leading column's bound lets the database stop its index range there (a NOT of the keyset alone does not).
      q = q.where(keys[0]!, '<=', bound[0]).where((eb) => eb.not(keysetAfter(eb, keys, bound)));
    }
    return q;
  };
  const ordered = <Q extends { orderBy(k: string, d: 'asc'): Q }>(q: Q) => keys.reduce((o, k) => o.orderBy(k, 'asc'), q);
  const { keyDigests } = dialect;
  /** The digest's form for keys of these types: integers have one text form everywhere, other keys compare only within a dialect. */
  const formOf = (d: NonNullable<typeof keyDigests>[number], t: Array<LogicalType | undefined>) =>
    d.portable && t.every((type) => type === 'int32' || type === 'int64') ? `${d.form}:int` : `${d.form}:${dialect.name}:${t.join(',')}`;
  const digests: Pick<KeyLister, 'digestForms' | 'keyAt' | 'digest'> = keyDigests
    ? {
        digestForms: async () => {
          const t = await types();
          return t ? keyDigests.map((d) => formOf(d, t)) : [];
        },
        keyAt: (after, n, upTo, signal) =>
          run(async (bind) => {
            const q = ordered(range(bind, after, upTo).select(keys))
              .limit(1)
              .offset(n - 1);
            return text((await pool.execute(q.compile(), signal)).rows)[0] ?? null;
          }, null),
        digest: (after, upTo, form, signal) =>
          run(
            async (bind) => {
              const t = (await types())!;
              const d = keyDigests.find((k) => formOf(k, t) === form);
              if (!d) throw new Error(`no key digest of form ${form}`);
              const q = range(bind, after, upTo).select([sql<number>`count(*)`.as('n'), d.of(keys).as('d')]);
              const row = (await pool.execute(q.compile(), signal)).rows[0];
              return { count: Number(row?.n ?? 0), digest: String(row?.d ?? '0') };
            },
            { count: 0, digest: '0' },
          ),
      }
    : {};
  return {
    ...digests,
    keys: (after, upTo, limit, signal) =>
      run(async (bind) => {
        const q = ordered(range(bind, after, upTo).select(keys));
        return text((await pool.execute((dialect.limitStyle === 'top' ? q.top(limit) : q.limit(limit)).compile(), signal)).rows);
      }, []),
    existing: (wanted, signal) =>
      run(async (bind) => {
        const found: string[][] = [];
        for (let i = 0; i < wanted.length; i += KEYS_PER_LOOKUP) {
          const chunk = wanted.slice(i, i + KEYS_PER_LOOKUP).map(bind);
          const q = selectFromEndpoint(dialect.db, endpoint)
            .select(keys)
            .where((eb) =>
              keys.length === 1
                ? eb(
                    keys[0]!,
                    'in',
                    chunk.map((v) => v[0]),
                  )
                : eb.or(chunk.map((v) => eb.and(keys.map((k, j) => eb(k, '=', v[j]))))),
            );
          found.push(...text((await pool.execute(q.compile(), signal)).rows));
        }
        return found;
      }, []),
    count: (signal) =>
      run(async () => {
        const q = selectFromEndpoint(dialect.db, endpoint).select(sql<number>`count(*)`.as('n'));
        return Number((await pool.execute(q.compile(), signal)).rows[0]?.n ?? 0);
      }, 0),
  };
}
