/** The keys of a JSON object's top level in the order written, repeats included (JSON.parse keeps only the last). */
export function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      if (depth === 1 && /^\s*:/.test(json.slice(end + 1, end + 3))) keys.push(JSON.parse(json.slice(i, end + 1)) as string);
      i = end;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * Why a log line breaks the schema every Idra process shares (`logSchemaOptions` in core), or
 * undefined: one JSON object, `level` by name, `time` in ISO 8601, the `service`, no key twice.
 */
export function logSchemaViolation(line: string, service: string): string | undefined {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return 'not JSON';
  }
  const keys = topLevelKeys(line);
  const repeated = keys.filter((key, i) => keys.indexOf(key) !== i);
  if (repeated.length > 0) return `repeated keys: ${repeated.join(', ')}`;
  if (!LEVELS.has(parsed.level as string)) return `level is not a level name: ${JSON.stringify(parsed.level)}`;
  if (typeof parsed.time !== 'string' || !ISO_TIME.test(parsed.time)) return `time is not ISO 8601: ${JSON.stringify(parsed.time)}`;
  if (parsed.service !== service) return `service is ${JSON.stringify(parsed.service)}, not ${service}`;
  if (typeof parsed.msg !== 'string') return 'no msg';
  return undefined;
}
