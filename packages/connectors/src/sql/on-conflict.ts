import { sql } from 'kysely';
import type { ConflictClause } from './dialect.ts';

/** PostgreSQL and SQLite: `ON CONFLICT (keys) DO NOTHING`, or `DO UPDATE SET c = excluded.c` to overwrite. */
export const onConflict: ConflictClause = {
  clause: (q, w) =>
    q.onConflict((oc) => {
      const conflict = oc.columns(w.keys);
      const nonKeys = w.columns.filter((c) => !w.keys.includes(c));
      return w.overwrite ? conflict.doUpdateSet(Object.fromEntries(nonKeys.map((c) => [c, sql.ref(`excluded.${c}`)]))) : conflict.doNothing();
    }),
};
