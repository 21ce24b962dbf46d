import type { ConfigIssue } from '@idra/api-client';

/** Validator and API phrasing turned into plain words for people filling a form (paths stay as they are). */
const PLAIN: Array<[RegExp, (m: RegExpMatchArray) => string]> = [
  [/^must be integer$/, () => 'must be a whole number'],
  [/^must be number$/, () => 'must be a number'],
  [/^must be string$/, () => 'must be text'],
  [/^must be >= (\S+)$/, (m) => `must be at least ${m[1]}`],
  [/^must be <= (\S+)$/, (m) => `must be at most ${m[1]}`],
  [/^must NOT have fewer than (\d+) characters$/, (m) => `needs at least ${m[1]} character${m[1] === '1' ? '' : 's'}`],
  [/^must NOT have more than (\d+) characters$/, (m) => `may have at most ${m[1]} characters`],
  [/^must NOT have fewer than 1 items$/, () => 'needs at least one entry'],
  [/^is required \(or give dataSourceId\)$/, () => 'choose a data source, or write the connection here'],
  [/^is required \(or give query\)$/, () => 'give a table (or a query)'],
  [/^is required \(or give host\)$/, () => 'give a URL (or a host)'],
  [/^is required when mode is '([^']+)'$/, (m) => `is needed for the ${m[1]} mode`],
  [/^must match letters, digits, _ \. - \(max 128\)$/, () => 'may hold only letters, digits, _ . - (at most 128)'],
  [/^is not a known field$/, () => 'is not a field Idra knows'],
];

export function plainMessage(message: string): string {
  for (const [re, say] of PLAIN) {
    const m = re.exec(message);
    if (m) return say(m);
  }
  return message;
}

export function plainIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return issues.map((i) => ({ ...i, message: plainMessage(i.message) }));
}
