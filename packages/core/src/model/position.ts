import { Type, type Static, type TLiteral } from '@sinclair/typebox';

/** A cursor or key value as text: 64-bit ids, decimals and microsecond timestamps survive the trip. */
const CursorText = Type.String({ maxLength: 4096 });
const NullableText = Type.Union([CursorText, Type.Null()]);
const Key = Type.Array(CursorText, { maxItems: 32 });

/**
 * One key range of a copy made in parallel (`parallelism`): rows whose order columns are in
 * (`after`, `to`], `after` moving as the range's batches are committed; `to` null for the last range.
 */
export const CopyRangeSchema = Type.Object(
  { after: Type.Union([Key, Type.Null()]), to: Type.Union([Key, Type.Null()]), done: Type.Boolean() },
  { additionalProperties: false },
);
export type CopyRange = Static<typeof CopyRangeSchema>;

/** While a copy in key ranges runs: each range's progress. The position's own value is where every row before it is copied. */
const Ranges = Type.Optional(Type.Array(CopyRangeSchema, { minItems: 1, maxItems: 16 }));

/**
 * Where a sync resumes, as stored in its offset. Values are strings so that no precision is lost on
 * the way to the store. The one definition: the `Position` type, the API's validation of a manual
 * offset, the check of a stored offset document and the list of kinds all derive from it.
 */
export const PositionSchema = Type.Union(
  [
    Type.Object({ kind: Type.Literal('id'), value: NullableText, ranges: Ranges }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('timestamp'), value: NullableText, tiebreaker: NullableText, ranges: Ranges }, { additionalProperties: false }),
    Type.Object(
      {
        kind: Type.Literal('full'),
        value: Type.Object({ run: Type.Integer({ minimum: 0 }), after: Type.Union([Type.Array(CursorText), Type.Null()]) }, { additionalProperties: false }),
        ranges: Ranges,
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        kind: Type.Literal('stream'),
        value: Type.Unknown({ description: 'the connector’s own position (open: Kafka partition offsets, a MongoDB resume token, an S3 key …)' }),
      },
      { additionalProperties: false },
    ),
  ],
  { description: "{kind:'id',value} | {kind:'timestamp',value,tiebreaker} | {kind:'full',value:{run,after}} | {kind:'stream',value}" },
);

export type Position = Static<typeof PositionSchema>;
export type PositionKind = Position['kind'];

/** Every position kind, in the order of the schema. */
export const POSITION_KINDS: readonly PositionKind[] = PositionSchema.anyOf.map((branch) => (branch.properties.kind as TLiteral<PositionKind>).const);

/** The position a sync starts from when nothing is stored: before the first row (the first pass of `full`). */
export function startPosition(kind: PositionKind): Position {
  switch (kind) {
    case 'id':
      return { kind, value: null };
    case 'timestamp':
      return { kind, value: null, tiebreaker: null };
    case 'full':
      return { kind, value: { run: 1, after: null } };
    case 'stream':
      return { kind, value: null };
  }
}

/** A position in one line, as an operator reads it (logs, CLI, web UI). */
export function describePosition(p: Position | null | undefined): string {
  if (!p) return 'none (starts from the beginning)';
  const ranges = p.kind === 'stream' ? undefined : p.ranges;
  if (ranges) {
    const done = ranges.filter((r) => r.done).length;
    return `${describePosition(withoutRanges(p))}; parallel copy: ${done} of ${ranges.length} key ranges done`;
  }
  switch (p.kind) {
    case 'id':
      return p.value === null ? 'id: start' : `id > ${p.value}`;
    case 'timestamp':
      return p.value === null ? 'timestamp: start' : `timestamp > ${p.value}${p.tiebreaker !== null ? ` (tiebreaker ${p.tiebreaker})` : ''}`;
    case 'full':
      return `full pass ${p.value.run}${p.value.after ? `, after key (${p.value.after.join(', ')})` : ', at the start'}`;
    case 'stream':
      return `stream: ${JSON.stringify(p.value)}`;
  }
}

/** The position without the progress of a copy in key ranges. */
function withoutRanges(p: Position): Position {
  if (p.kind === 'stream' || !p.ranges) return p;
  const { ranges: _ranges, ...rest } = p;
  return rest;
}

/** The values of the order columns a position resumes after (null at the start); undefined for a stream. */
export function positionKey(p: Position): string[] | null | undefined {
  switch (p.kind) {
    case 'id':
      return p.value === null ? null : [p.value];
    case 'timestamp':
      return p.value === null ? null : [p.value, ...(p.tiebreaker === null ? [] : [p.tiebreaker])];
    case 'full':
      return p.value.after;
    case 'stream':
      return undefined;
  }
}

/** The position of the same kind (and `full` pass) resuming after `key`, without ranges. */
export function positionAt(p: Exclude<Position, { kind: 'stream' }>, key: string[] | null): Exclude<Position, { kind: 'stream' }> {
  switch (p.kind) {
    case 'id':
      return { kind: 'id', value: key?.[0] ?? null };
    case 'timestamp':
      return { kind: 'timestamp', value: key?.[0] ?? null, tiebreaker: key?.[1] ?? null };
    case 'full':
      return { kind: 'full', value: { run: p.value.run, after: key } };
  }
}

/** Whether a position is at the start of a pass: nothing read yet (the first pass of a cursor mode, any pass of `full`). */
export function atPassStart(p: Position): boolean {
  return p.kind !== 'stream' && !p.ranges && positionKey(p) === null;
}

/**
 * Where every row before is copied, given the ranges' progress: the end of the ranges done one after
 * another from the first, then how far the first range not done has come.
 */
export function rangesFrontier(ranges: readonly CopyRange[]): string[] | null {
  let key: string[] | null = null;
  for (const r of ranges) {
    if (!r.done) return r.after ?? key;
    key = r.to ?? r.after ?? key;
  }
  return key;
}

/** The position of a copy in ranges: at their frontier, carrying them while any is not done. */
export function rangedPosition(p: Exclude<Position, { kind: 'stream' }>, ranges: readonly CopyRange[]): Position {
  const at = positionAt(p, rangesFrontier(ranges));
  return ranges.every((r) => r.done) ? at : { ...at, ranges: ranges.map((r) => ({ ...r })) };
}

/** How many ranges of a copy are under way: begun (moved past their start, the previous range's end) and not done. */
export function rangesUnderWay(ranges: readonly CopyRange[]): number {
  return ranges.filter((r, i) => !r.done && JSON.stringify(r.after) !== JSON.stringify(i === 0 ? null : ranges[i - 1]!.to)).length;
}
