import type { Document, Filter } from 'mongodb';
import type { EndpointContext, KeyLister } from '@idra/core';
import { mongoFailure, type MongoConnection } from './mongodb-client.ts';
import { bsonToValue, bsonTypeOf, cursorToBson, RAW_BSON } from './mongodb-values.ts';

/** `(k1, …, kn) > (v1, …, vn)` as a filter: the keyset predicate of the SQL key listers, for MongoDB. */
function after(keys: readonly string[], values: readonly unknown[]): Filter<Document> {
  return { $or: keys.map((k, i) => ({ ...Object.fromEntries(keys.slice(0, i).map((prev, j) => [prev, values[j]])), [k]: { $gt: values[i] } })) };
}

/**
 * The keys of a collection by the sync's key fields, in key order, as the canonical text of their values (a Long is its
 * digits, an ObjectId its hex): for mirror passes and key reconciliation against any other end. Bounds and lookups are
 * given as text and turned back into the BSON type the collection stores in each key field (learnt from one document),
 * so that numbers compare as numbers.
 */
export function mongoKeyLister(ctx: EndpointContext, conn: MongoConnection): KeyLister {
  const keys = ctx.sync.keyColumns;
  let types: Promise<Array<ReturnType<typeof bsonTypeOf>>> | undefined;
  const bson = async (texts: readonly string[]) => {
    types ??= conn.collection
      .findOne(Object.fromEntries(keys.map((k) => [k, { $ne: null }])), RAW_BSON)
      .then((sample) => keys.map((k) => bsonTypeOf(sample?.[k])));
    const t = await types;
    return texts.map((text, i) => cursorToBson(text, t[i]));
  };
  const text = (doc: Document) => keys.map((k) => String(bsonToValue(doc[k]).value));
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      types = undefined;
      throw mongoFailure(ctx, err);
    }
  };
  return {
    keys: (from, upTo, limit) =>
      run(async () => {
        const and: Array<Filter<Document>> = keys.map((k) => ({ [k]: { $ne: null } }));
        if (from) and.push(after(keys, await bson(from)));
        if (upTo) and.push({ $nor: [after(keys, await bson(upTo))] });
        const docs = await conn.collection
          .find({ $and: and }, { ...RAW_BSON, projection: Object.fromEntries([['_id', 0], ...keys.map((k) => [k, 1])]) })
          .sort(Object.fromEntries(keys.map((k) => [k, 1])))
          .limit(limit)
          .toArray();
        return docs.map(text);
      }),
    existing: (wanted) =>
      run(async () => {
        if (wanted.length === 0) return [];
        const filters = await Promise.all(wanted.map(async (key) => Object.fromEntries((await bson(key)).map((v, i) => [keys[i]!, v]))));
        const docs = await conn.collection.find({ $or: filters }, { ...RAW_BSON, projection: Object.fromEntries(keys.map((k) => [k, 1])) }).toArray();
        return docs.map(text);
      }),
    count: () => run(() => conn.collection.countDocuments({})),
  };
}
