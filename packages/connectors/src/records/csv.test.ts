import { describe, expect, it } from 'vitest';
import { CsvParser, CsvSyntaxError, csvLine, type CsvRecord } from './csv.ts';

function parse(text: string, chunks: number[] = [text.length], delimiter = ','): Array<CsvRecord | string> {
  const parser = new CsvParser(delimiter);
  const out: Array<CsvRecord | CsvSyntaxError> = [];
  let at = 0;
  for (const size of chunks) {
    out.push(...parser.push(text.slice(at, at + size)));
    at += size;
  }
  out.push(...parser.push(text.slice(at)), ...parser.end());
  return out.map((r) => (r instanceof CsvSyntaxError ? r.message : r));
}

const TEXT = 'id,name,note\r\n1,"a, ""quoted""\r\nline",\r\n\r\n2,"",x\n3,plain,"y"\r\n4,,';

describe('CSV', () => {
  it('reads quotes, embedded line breaks, NULL apart from the empty string, and the line each record starts on', () => {
    expect(parse(TEXT)).toEqual([
      { line: 1, values: ['id', 'name', 'note'] },
      { line: 2, values: ['1', 'a, "quoted"\r\nline', null] },
      { line: 5, values: ['2', '', 'x'] },
      { line: 6, values: ['3', 'plain', 'y'] },
      { line: 7, values: ['4', null, null] },
    ]);
  });

  it('gives the same records whatever the chunks the text streams in', () => {
    const whole = parse(TEXT);
    for (let size = 1; size <= TEXT.length; size++) {
      expect(
        parse(
          TEXT,
          Array.from({ length: Math.ceil(TEXT.length / size) }, () => size),
        ),
        `chunks of ${size}`,
      ).toEqual(whole);
    }
  });

  it('another delimiter (tab, semicolon), written and read back', () => {
    for (const d of ['\t', ';']) {
      const text = csvLine(['a', `b${d}c`, null, ''], d) + csvLine(['1', '2', '3', '4'], d);
      expect(parse(text, [3], d)).toEqual([
        { line: 1, values: ['a', `b${d}c`, null, ''] },
        { line: 2, values: ['1', '2', '3', '4'] },
      ]);
    }
  });

  it('a broken record is reported in its place and the next line is read', () => {
    expect(parse('a,b\r\n1,"x"y\r\n2,ok\r\n3,bad"quote\r\n4,ok\r\n5,"open')).toEqual([
      { line: 1, values: ['a', 'b'] },
      'line 2: text after a closing quote',
      { line: 3, values: ['2', 'ok'] },
      'line 4: a quote inside an unquoted field',
      { line: 5, values: ['4', 'ok'] },
      'line 6: unterminated quoted field',
    ]);
  });
});
