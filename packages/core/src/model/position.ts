import { Type, type Static, type TLiteral } from '@sinclair/typebox';

/** A cursor or key value as text: 64-bit ids, decimals and microsecond timestamps survive the trip. */
const CursorText = Type.String({ maxLength: 4096 });
const NullableText = Type.Union([CursorText, Type.Null()]);

/**
 * Where a sync resumes, as stored in its offset. Values are strings so that no precision is lost on
 * the way to the store. The one definition: the `Position` type, the API's validation of a manual
 * offset, the check of a stored offset document and the list of kinds all derive from it.
 */
export const PositionSchema = Type.Union(
  [
    Type.Object({ kind: Type.Literal('id'), value: NullableText }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('timestamp'), value: NullableText, tiebreaker: NullableText }, { additionalProperties: false }),
    Type.Object(
      {
        kind: Type.Literal('full'),
        value: Type.Object({ run: Type.Integer({ minimum: 0 }), after: Type.Union([Type.Array(CursorText), Type.Null()]) }, { additionalProperties: false }),
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
