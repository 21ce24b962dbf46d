/**
 * CSV as RFC 4180 has it: comma-separated, CRLF line ends, fields quoted when they hold a comma, a
 * quote or a line break. A NULL is an empty unquoted field; an empty string is `""`.
 */

function field(value: string | null): string {
  if (value === null) return '';
  return value === '' || /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One CSV line (with its CRLF). */
export function csvLine(values: ReadonlyArray<string | null>): string {
  return values.map(field).join(',') + '\r\n';
}

/** A parsed CSV record and the 1-based line it starts on. */
export interface CsvRecord {
  line: number;
  values: Array<string | null>;
}

/** Thrown for text that is not CSV (an unterminated quote, text after a closing quote). */
export class CsvSyntaxError extends SyntaxError {
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.line = line;
  }
}

/** Parses CSV text into records; empty lines are skipped. */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let values: Array<string | null> = [];
  let line = 1;
  let recordLine = 1;
  let i = 0;
  let atFieldStart = true;
  const endRecord = () => {
    if (!(values.length === 1 && values[0] === null)) records.push({ line: recordLine, values });
    values = [];
    atFieldStart = true;
  };
  while (i <= text.length) {
    if (i === text.length) {
      if (!atFieldStart || values.length > 0) {
        if (atFieldStart) values.push(null);
        endRecord();
      }
      break;
    }
    const ch = text[i]!;
    if (atFieldStart && ch === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw new CsvSyntaxError(recordLine, 'unterminated quoted field');
        const c = text[j]!;
        if (c === '"') {
          if (text[j + 1] === '"') {
            value += '"';
            j += 2;
            continue;
          }
          j++;
          break;
        }
        if (c === '\n') line++;
        value += c;
        j++;
      }
      const next = text[j];
      if (next !== undefined && next !== ',' && next !== '\r' && next !== '\n') throw new CsvSyntaxError(line, 'text after a closing quote');
      values.push(value);
      i = j;
      atFieldStart = false;
      continue;
    }
    let j = i;
    while (j < text.length && text[j] !== ',' && text[j] !== '\r' && text[j] !== '\n') j++;
    if (j > i) {
      const raw = text.slice(i, j);
      if (raw.includes('"')) throw new CsvSyntaxError(line, 'a quote inside an unquoted field');
      values.push(raw);
      atFieldStart = false;
      i = j;
      continue;
    }
    // A delimiter or a line end right here.
    if (atFieldStart) values.push(null);
    if (ch === ',') {
      atFieldStart = true;
      i++;
      continue;
    }
    // \r\n or \n ends the record.
    i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
    endRecord();
    line++;
    recordLine = line;
  }
  return records;
}
