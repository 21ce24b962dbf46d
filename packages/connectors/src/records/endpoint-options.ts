import { ConfigError, parseDuration, type ConfigIssue, type EndpointContext } from '@idra/core';

/**
 * Reads a connector's `options` object, naming the field in every error
 * (`destination.options.batchSize: must be an integer ≥ 1`). Each connector's `*-options.ts`
 * turns them into one complete, normalized config before anything connects.
 */
export class EndpointOptions {
  private readonly values: Record<string, unknown>;
  private readonly base: string;
  private readonly issues: ConfigIssue[] = [];
  private readonly known = new Set<string>();

  constructor(values: Record<string, unknown> | undefined, base: string) {
    this.values = values ?? {};
    this.base = base;
  }

  /** Options of an endpoint of a sync (`source.options` / `destination.options`). */
  static of(ctx: EndpointContext): EndpointOptions {
    return new EndpointOptions(ctx.endpoint.options, `${ctx.role}.options`);
  }

  private take(name: string): unknown {
    this.known.add(name);
    return this.values[name];
  }

  private fail(name: string, message: string): void {
    this.issues.push({ path: `${this.base}.${name}`, message });
  }

  string(name: string, fallback: string): string;
  string(name: string, fallback?: undefined): string | undefined;
  string(name: string, fallback?: string): string | undefined {
    const v = this.take(name);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string') {
      this.fail(name, 'must be a string');
      return fallback;
    }
    return v;
  }

  boolean(name: string, fallback: boolean): boolean {
    const v = this.take(name);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') {
      this.fail(name, 'must be true or false');
      return fallback;
    }
    return v;
  }

  integer(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const v = this.take(name);
    if (v === undefined || v === null) return fallback;
    const min = range.min ?? 0;
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(name, `must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return v;
  }

  /** Milliseconds, given as a number or a duration string (`'500ms'`, `'5s'`). */
  duration(name: string, fallback: number): number {
    const v = this.take(name);
    if (v === undefined || v === null) return fallback;
    const ms = typeof v === 'number' || typeof v === 'string' ? parseDuration(v) : undefined;
    if (ms === undefined) {
      this.fail(name, 'must be milliseconds or a duration like "5s"');
      return fallback;
    }
    return ms;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.take(name);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.fail(name, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
      return fallback;
    }
    return v as T;
  }

  /** A list of strings, given as an array or a comma-separated string. */
  list(name: string): string[] | undefined {
    const v = this.take(name);
    if (v === undefined || v === null) return undefined;
    const items = typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v : undefined;
    if (!items || !items.every((i) => typeof i === 'string')) {
      this.fail(name, 'must be a list of strings (an array, or comma-separated)');
      return undefined;
    }
    return items.map((i) => i.trim()).filter((i) => i !== '');
  }

  /** An object whose values are all strings (e.g. HTTP headers, query parameters). */
  stringRecord(name: string): Record<string, string> {
    const v = this.take(name);
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
      this.fail(name, 'must be an object of strings');
      return {};
    }
    return { ...(v as Record<string, string>) };
  }

  /** Any value, checked by the caller. */
  raw(name: string): unknown {
    return this.take(name);
  }

  /** Records a problem the caller found in a combination of options. */
  problem(name: string, message: string): void {
    this.fail(name, message);
  }

  /** Throws one ConfigError with every problem found, including options `endpoint` (e.g. 'kafka source') does not know. */
  done(endpoint: string): void {
    for (const name of Object.keys(this.values)) {
      if (!this.known.has(name)) this.fail(name, `is not an option of the ${endpoint} (known: ${[...this.known].sort().join(', ')})`);
    }
    if (this.issues.length > 0) throw new ConfigError(this.issues, `invalid ${endpoint} options`);
  }
}

/** A required endpoint field (`topic`, `bucket`, `collection`, `url`) or a ConfigError naming it. */
export function requiredField(ctx: EndpointContext, field: 'topic' | 'bucket' | 'collection' | 'url' | 'table'): string {
  const value = ctx.endpoint[field];
  if (value === undefined || value === '') {
    throw new ConfigError([{ path: `${ctx.role}.${field}`, message: `is required for the ${ctx.endpoint.connector} ${ctx.role}` }]);
  }
  return value;
}

/** Checks that the sync's mode is one this endpoint supports. */
export function requireMode(ctx: EndpointContext, modes: readonly string[]): void {
  if (ctx.role === 'source' && !modes.includes(ctx.sync.mode)) {
    throw new ConfigError([{ path: 'mode', message: `the ${ctx.endpoint.connector} source supports ${modes.map((m) => `'${m}'`).join(', ')}, not '${ctx.sync.mode}'` }]);
  }
}
