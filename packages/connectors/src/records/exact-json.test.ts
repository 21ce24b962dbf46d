import { describe, expect, it } from 'vitest';
import { JSON_NULL, JsonText, isExactDouble, isRawJsonNumber, parseJsonColumn, parseJsonExact } from './exact-json.ts';
import { jsonText } from '../sql/values.ts';
import { jsonValueText } from '../sql/tab-separated.ts';

describe('exact JSON', () => {
  it("a JSON column's numbers are written back as the source spelled them", () => {
    const text = '{"price":1.10,"whole":1.0,"big":1e3,"neg":-0,"plain":2.5,"n":7,"huge":12345678901234567890,"list":[0.50,3]}';
    const value = parseJsonColumn(text) as Record<string, unknown>;
    expect(JSON.stringify(value)).toBe(text);
    // Numbers JSON.stringify spells as read stay numbers.
    expect(value.plain).toBe(2.5);
    expect(value.n).toBe(7);
    expect(isRawJsonNumber(value.price)).toBe(true);
  });

  it('records from an API keep numbers as doubles unless a double would lose a digit', () => {
    const value = parseJsonExact('{"price":1.10,"huge":12345678901234567890}') as Record<string, unknown>;
    expect(value.price).toBe(1.1);
    expect(isRawJsonNumber(value.huge)).toBe(true);
  });

  it('tells a spelling of a double from a number a double cannot hold', () => {
    expect(['1.10', '1e3', '-0', '0.5', '1.0'].map(isExactDouble)).toEqual([true, true, true, true, true]);
    expect(['12345678901234567890', '0.12345678901234567', 'NaN'].map(isExactDouble)).toEqual([false, false, false]);
  });

  it("a json column's text is written to SQL as it is, and is its parsed value everywhere else", () => {
    const value = new JsonText('{ "a" : 1.10, "a": 2 }');
    expect(jsonText(value)).toBe('{ "a" : 1.10, "a": 2 }');
    expect(jsonValueText(value)).toBe('{ "a" : 1.10, "a": 2 }');
    expect(JSON.stringify({ doc: value })).toBe('{"doc":{"a":2}}');
    expect(new JsonText(' null ').value()).toBe(JSON_NULL);
  });
});
