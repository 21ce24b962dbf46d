/**
 * CSV as RFC 4180 has it: fields separated by a delimiter (a comma unless told otherwise), CRLF line
 * ends, fields quoted when they hold the delimiter, a quote or a line break. A NULL is an empty
 * unquoted field; an empty string is `""`.
 */

function field(value: string | null, delimiter: string): string {
  if (value === null) return '';
  return value === '' || value.includes(delimiter) || /["\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One CSV line (with its CRLF). */
export function csvLine(values: ReadonlyArray<string | null>, delimiter = ','): string {
  return values.map((v) => field(v, delimiter)).join(delimiter) + '\r\n';
}

/** A parsed CSV record and the 1-based line it starts on. */
export interface CsvRecord {
  line: number;
  values: Array<string | null>;
}

/** A record that is not CSV (an unterminated quote, text after a closing quote), and the line it starts on. */
export class CsvSyntaxError extends SyntaxError {
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.line = line;
  }
}

type Scan = { values: Array<string | null> | undefined; end: number; lines: number } | { error: string; end: number; lines: number };

/**
 * Parses CSV text as it streams in: `push` returns the records its chunk completes (a record still
 * open at the chunk's end waits for the next one), `end` the last. A record that is not CSV comes out
 * as a CsvSyntaxError in its place, and parsing goes on at the next line. Empty lines are skipped.
 */
export class CsvParser {
  private text = '';
  private line = 1;
  private readonly delimiter: string;

  constructor(delimiter = ',') {
    if (delimiter.length !== 1 || /["\r\n]/.test(delimiter))
      throw new RangeError(`a CSV delimiter is one character other than a quote or a line break, not ${JSON.stringify(delimiter)}`);
    this.delimiter = delimiter;
  }

  push(chunk: string): Array<CsvRecord | CsvSyntaxError> {
    this.text += chunk;
    return this.drain(false);
  }

  end(): Array<CsvRecord | CsvSyntaxError> {
    return this.drain(true);
  }

  private drain(final: boolean): Array<CsvRecord | CsvSyntaxError> {
    const out: Array<CsvRecord | CsvSyntaxError> = [];
    let pos = 0;
    while (pos < this.text.length) {
      const scan = this.scan(pos, final);
      if (!scan) break;
      if ('error' in scan) out.push(new CsvSyntaxError(this.line, scan.error));
      else if (scan.values) out.push({ line: this.line, values: scan.values });
      this.line += scan.lines;
      pos = scan.end;
    }
    this.text = this.text.slice(pos);
    return out;
  }

  /** The record starting at `start`; undefined when the text ends before it does (and more may come). */
  private scan(start: number, final: boolean): Scan | undefined {
    const { text, delimiter } = this;
    const values: Array<string | null> = [];
    let i = start;
    let lines = 0;
    // The end of a line at `at`: how long its terminator is (0: none there; undefined: cannot tell yet).
    const terminator = (at: number): number | undefined => {
      const c = text[at];
      if (c === '\n') return 1;
      if (c !== '\r') return 0;
      if (at + 1 === text.length && !final) return undefined;
      return text[at + 1] === '\n' ? 2 : 1;
    };
    // A record that breaks the format: resume after the end of its line.
    const broken = (error: string, from: number): Scan | undefined => {
      const nl = text.indexOf('\n', from);
      if (nl < 0 && !final) return undefined;
      return { error, end: nl < 0 ? text.length : nl + 1, lines: lines + (nl < 0 ? 0 : 1) };
    };
    for (;;) {
      if (text[i] === '"') {
        let value = '';
        let j = i + 1;
        for (;;) {
          const q = text.indexOf('"', j);
          if (q < 0) return final ? { error: 'unterminated quoted field', end: text.length, lines: lines + countLines(text, i, text.length) } : undefined;
          if (q + 1 === text.length && !final) return undefined;
          value += text.slice(j, q);
          if (text[q + 1] === '"') {
            value += '"';
            j = q + 2;
            continue;
          }
          j = q + 1;
          break;
        }
        lines += countLines(text, i, j);
        values.push(value);
        i = j;
      } else {
        let j = i;
        while (j < text.length && text[j] !== delimiter && text[j] !== '\n' && text[j] !== '\r') j++;
        if (j === text.length && !final) return undefined;
        const raw = text.slice(i, j);
        if (raw.includes('"')) return broken('a quote inside an unquoted field', i);
        values.push(raw === '' ? null : raw);
        i = j;
      }
      if (i === text.length) return final ? { values: isEmptyLine(values) ? undefined : values, end: i, lines } : undefined;
      if (text[i] === delimiter) {
        i++;
        continue;
      }
      const t = terminator(i);
      if (t === undefined) return undefined;
      if (t === 0) return broken('text after a closing quote', i);
      return { values: isEmptyLine(values) ? undefined : values, end: i + t, lines: lines + 1 };
    }
  }
}

function isEmptyLine(values: ReadonlyArray<string | null>): boolean {
  return values.length === 1 && values[0] === null;
}

function countLines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
