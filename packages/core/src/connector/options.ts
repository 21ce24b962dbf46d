import { Type, type Static, type TObject, type TOptional, type TSchema } from '@sinclair/typebox';
import { DURATION_PATTERN, parseDuration } from '../duration.ts';
import { LOGICAL_TYPES, type Column, type LogicalType } from './types.ts';

export type ConnectorRole = 'source' | 'destination';

/** Type-only mark of an option that has a default: its resolved value is never undefined. */
declare const hasDefault: unique symbol;
type Defaulted<T extends TSchema> = TOptional<T> & { readonly [hasDefault]: true };

/** Keyword on an option's schema: how a given value turns into the resolved one, and which role alone accepts it. */
const CONVERT = 'x-idra-convert';
const ONLY = 'x-idra-only';

/** The options of one connector (both roles), each declared once with its description and default. */
export type OptionProps = Record<string, TOptional<TSchema>>;

/** Options with every default applied, durations in milliseconds and lists split. */
export type ResolvedOptions<P extends OptionProps> = {
  [K in keyof P]: P[K] extends { readonly [hasDefault]: true } ? Static<P[K]> : Static<P[K]> | undefined;
};

interface Extras {
  /** The role that accepts the option; both when absent. */
  only?: ConnectorRole | undefined;
}

type Conversion = 'duration' | 'list' | 'columnTypes';

/** `decimal(12,2)` → type, precision, scale. */
const COLUMN_TYPE = new RegExp(`^(${LOGICAL_TYPES.join('|')})(?:\\((\\d+)(?:,\\s*(\\d+))?\\))?$`);

function columnsOf(types: Record<string, string>): Column[] {
  return Object.entries(types).map(([name, text]) => {
    const m = COLUMN_TYPE.exec(text.trim())!;
    return m[2] === undefined ? { name, type: m[1] as LogicalType } : { name, type: m[1] as LogicalType, precision: Number(m[2]), scale: Number(m[3] ?? 0) };
  });
}

function option<T extends TSchema>(schema: T, fallback: unknown, extras: Extras | undefined, convert?: Conversion): TOptional<T> {
  const marks: Record<string, unknown> = {};
  if (fallback !== undefined) marks.default = fallback;
  if (extras?.only) marks[ONLY] = extras.only;
  if (convert) marks[CONVERT] = convert;
  return Type.Optional(Object.assign(schema, marks)) as TOptional<T>;
}

const listSchema = (description: string) => Type.Unsafe<string[]>({ anyOf: [{ type: 'array', items: { type: 'string' } }, { type: 'string' }], description });

/**
 * Builders of connector options, documented where they are declared (Temporal's habit): each takes
 * the description and the default, and `only` for an option that one role alone accepts.
 */
export const Option = {
  string(description: string, fallback?: string, extras?: Extras) {
    return option(Type.String({ description }), fallback, extras) as Defaulted<ReturnType<typeof Type.String>>;
  },
  optionalString(description: string, extras?: Extras) {
    return option(Type.String({ description }), undefined, extras);
  },
  boolean(description: string, fallback: boolean, extras?: Extras) {
    return option(Type.Boolean({ description }), fallback, extras) as Defaulted<ReturnType<typeof Type.Boolean>>;
  },
  optionalBoolean(description: string, extras?: Extras) {
    return option(Type.Boolean({ description }), undefined, extras);
  },
  integer(description: string, fallback: number, range: { min?: number; max?: number } = {}, extras?: Extras) {
    const schema = Type.Integer({ description, minimum: range.min ?? 0, ...(range.max !== undefined ? { maximum: range.max } : {}) });
    return option(schema, fallback, extras) as Defaulted<typeof schema>;
  },
  /** Milliseconds, given as a number or a duration string (`'500ms'`, `'5s'`); `fallback` in milliseconds. */
  duration(description: string, fallback: number, extras?: Extras) {
    const schema = Type.Unsafe<number>({
      anyOf: [
        { type: 'integer', minimum: 0 },
        { type: 'string', pattern: DURATION_PATTERN },
      ],
      description,
      errorMessage: 'must be milliseconds or a duration like "5s"',
    });
    return option(schema, fallback, extras, 'duration') as Defaulted<typeof schema>;
  },
  oneOf<const V extends readonly [string, ...string[]]>(values: V, description: string, fallback: V[number], extras?: Extras) {
    const schema = Type.Unsafe<V[number]>({ type: 'string', enum: [...values], description });
    return option(schema, fallback, extras) as Defaulted<typeof schema>;
  },
  optionalOneOf<const V extends readonly [string, ...string[]]>(values: V, description: string, extras?: Extras) {
    return option(Type.Unsafe<V[number]>({ type: 'string', enum: [...values], description }), undefined, extras);
  },
  /** A list of strings, given as an array or a comma-separated string. */
  list(description: string, fallback: string[], extras?: Extras) {
    const schema = listSchema(description);
    return option(schema, fallback, extras, 'list') as Defaulted<typeof schema>;
  },
  /** Column types of records that do not carry theirs: `{ "id": "int64", "price": "decimal(12,2)" }`, resolved to columns. */
  columnTypes(description: string, extras?: Extras) {
    const type = Type.String({ pattern: COLUMN_TYPE.source, description: `one of ${LOGICAL_TYPES.join(', ')} (decimal may be decimal(p,s))` });
    const schema = Type.Unsafe<Column[]>(Type.Record(Type.String(), type, { description }));
    return option(schema, {}, extras, 'columnTypes') as Defaulted<typeof schema>;
  },
  optionalList(description: string, extras?: Extras) {
    return option(listSchema(description), undefined, extras, 'list');
  },
  /** An object whose values are all strings (HTTP headers, query parameters). */
  stringRecord(description: string, extras?: Extras) {
    const schema = Type.Record(Type.String(), Type.String(), { description });
    return option(schema, {}, extras) as Defaulted<typeof schema>;
  },
};

/** The options `role` accepts, as the schema of an endpoint's `options` object. */
export function optionsOfRole(props: OptionProps, role: ConnectorRole): TObject {
  const accepted = Object.entries(props).filter(([, schema]) => {
    const only = (schema as { [ONLY]?: ConnectorRole })[ONLY];
    return only === undefined || only === role;
  });
  return Type.Object(Object.fromEntries(accepted), { additionalProperties: false });
}

/** Options as given → resolved: defaults for what is absent (or null), durations in ms, lists split. Assumes they were checked. */
export function resolveOptions<P extends OptionProps>(props: P, given: Record<string, unknown> | undefined): ResolvedOptions<P> {
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(props)) {
    const value = given?.[name];
    const { default: fallback, [CONVERT]: convert } = schema as { default?: unknown; [CONVERT]?: Conversion };
    if (value === undefined || value === null) out[name] = convert === 'columnTypes' ? [] : structuredClone(fallback);
    else if (convert === 'columnTypes') out[name] = columnsOf(value as Record<string, string>);
    else if (convert === 'duration') out[name] = parseDuration(value as number | string);
    else if (convert === 'list') out[name] = (typeof value === 'string' ? value.split(',') : (value as string[])).map((i) => i.trim()).filter((i) => i !== '');
    else out[name] = value;
  }
  return out as ResolvedOptions<P>;
}
