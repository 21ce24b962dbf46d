import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { TSchema, Static } from '@sinclair/typebox';
import { ConfigError, type ConfigIssue } from '../errors.ts';

// The schemas are Idra's own, made by TypeBox: checking them against JSON Schema's meta-schema at each
// start, and optimising the code compiled from them, took a third of the 65 ms an agent spent reading its
// configuration. validate.test.ts checks every schema against the meta-schema instead.
const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, useDefaults: false, validateSchema: false, code: { optimize: false } });
const compiled = new WeakMap<TSchema, ValidateFunction>();

/** `/source/columns/0` → `source.columns[0]`, joined under `base`. */
export function fieldPath(base: string, pointer: string): string {
  let out = base;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out ? `.${part}` : part;
  }
  return out;
}

function describeUnion(err: ErrorObject): string {
  const own = (err.parentSchema as { errorMessage?: string } | undefined)?.errorMessage;
  if (own) return own;
  const branches = ((err.parentSchema as { anyOf?: TSchema[] } | undefined)?.anyOf ?? []) as Array<{ const?: unknown }>;
  if (branches.length > 0 && branches.every((b) => b.const !== undefined)) {
    return `must be one of ${branches.map((b) => JSON.stringify(b.const)).join(', ')}`;
  }
  const description = (err.parentSchema as { description?: string } | undefined)?.description;
  return description ? `invalid value (${description})` : 'invalid value';
}

function toIssues(errors: ErrorObject[], base: string): ConfigIssue[] {
  const unionPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const err of errors) {
    let issue: ConfigIssue;
    if (err.keyword === 'anyOf') {
      issue = { path: fieldPath(base, err.instancePath), message: describeUnion(err) };
    } else if (
      [...unionPaths].some(
        (p) => err.instancePath === p || (err.instancePath.startsWith(p + '/') && err.keyword !== 'required' && err.keyword !== 'additionalProperties'),
      )
    ) {
      continue; // a branch of a union: the union's own message says it better
    } else if (err.keyword === 'required') {
      issue = { path: fieldPath(base, `${err.instancePath}/${(err.params as { missingProperty: string }).missingProperty}`), message: 'is required' };
    } else if (err.keyword === 'additionalProperties') {
      issue = {
        path: fieldPath(base, `${err.instancePath}/${(err.params as { additionalProperty: string }).additionalProperty}`),
        message: 'is not a known field',
      };
    } else if (err.keyword === 'enum') {
      issue = {
        path: fieldPath(base, err.instancePath),
        message: `must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`,
      };
    } else if (err.keyword === 'pattern') {
      const description = (err.parentSchema as { description?: string } | undefined)?.description;
      issue = { path: fieldPath(base, err.instancePath), message: description ? `must match ${description}` : (err.message ?? 'invalid') };
    } else {
      issue = { path: fieldPath(base, err.instancePath), message: err.message ?? 'is invalid' };
    }
    const key = `${issue.path}\u0000${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push(issue);
    }
  }
  return issues;
}

/** Checks `value` against a TypeBox schema; returns the problems with their field paths (empty when valid). */
export function schemaIssues(schema: TSchema, value: unknown, base = ''): ConfigIssue[] {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate(value) ? [] : toIssues(validate.errors ?? [], base);
}

/** Returns `value` typed by the schema, or throws a ConfigError naming every bad field. */
export function assertSchema<T extends TSchema>(schema: T, value: unknown, context?: string, base = ''): Static<T> {
  const issues = schemaIssues(schema, value, base);
  if (issues.length > 0) throw new ConfigError(issues, context);
  return value as Static<T>;
}

/**
 * What is wrong with a schema itself by JSON Schema's meta-schema; empty when nothing. Validation does
 * not check its schemas (a start would pay for it): the tests check every schema of Idra's with this.
 */
export function schemaDefects(schema: TSchema): string[] {
  const checker = new Ajv({ strict: false });
  return checker.validateSchema(schema) ? [] : (checker.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
