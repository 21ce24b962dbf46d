import { describe, expect, it } from 'vitest';
import { plainMessage } from './plain-issues.ts';

describe('plain words for form problems', () => {
  it('says what the validator means', () => {
    expect(plainMessage('must be integer')).toBe('must be a whole number');
    expect(plainMessage('must be >= 1')).toBe('must be at least 1');
    expect(plainMessage('must NOT have fewer than 8 characters')).toBe('needs at least 8 characters');
    expect(plainMessage('is required (or give dataSourceId)')).toBe('choose a data source, or write the connection here');
    expect(plainMessage('something else')).toBe('something else');
  });
});
