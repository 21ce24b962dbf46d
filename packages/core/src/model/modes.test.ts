import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { parseOffsetDocument } from '../offset/offset.ts';
import { CONNECTORS, SQL_CONNECTORS } from './connector-kinds.ts';
import { MODES, modeInfo, modesOf, storedKind } from './modes.ts';
import { POSITION_KINDS, describePosition, startPosition } from './position.ts';
import { normalizeSync, validateSyncConfig } from './sync.ts';

const sync = (mode: string, source: string, destination = 'postgres') => ({
  id: 's',
  source: { connector: source, connection: { url: 'x://h/db' }, table: 't' },
  destination: { connector: destination, connection: { url: 'x://h/db' }, table: 't' },
  mode,
  cursorColumn: 'id',
  keyColumns: ['id'],
});

function modeIssue(input: unknown): string | undefined {
  try {
    validateSyncConfig(input);
    return undefined;
  } catch (err) {
    return (err as ConfigError).issues.find((i) => i.path === 'mode')?.message;
  }
}

describe('the mode table', () => {
  it('names a position kind of the position schema for every mode, and only known connectors', () => {
    expect(POSITION_KINDS).toEqual(['id', 'timestamp', 'full', 'stream']);
    for (const mode of MODES) {
      const info = modeInfo(mode);
      expect(POSITION_KINDS).toContain(info.position);
      for (const c of [...info.sources, ...(info.destinations ?? [])]) expect(CONNECTORS).toContain(c);
    }
  });

  it('stores an offset of the mode position kind, except for the modes that resume from the destination', () => {
    expect(MODES.map((m) => [m, storedKind(m)])).toEqual([
      ['id', 'id'],
      ['timestamp', 'timestamp'],
      ['destination-id', undefined],
      ['destination-timestamp', undefined],
      ['full', 'full'],
      ['stream', 'stream'],
      ['cdc', 'stream'],
    ]);
  });

  it('derives what each connector supports per role', () => {
    expect(modesOf('kafka', 'source')).toEqual(['stream']);
    expect(modesOf('postgres', 'source')).toEqual(['id', 'timestamp', 'destination-id', 'destination-timestamp', 'full', 'cdc']);
    expect(modesOf('sqlite', 'source')).toEqual(['id', 'timestamp', 'destination-id', 'destination-timestamp', 'full']);
    expect(modesOf('mongodb', 'destination')).toEqual(MODES.filter((m) => m !== 'cdc'));
    expect(modesOf('postgres', 'destination')).toEqual(MODES);
    expect(modesOf('kafka', 'destination')).toEqual(['id', 'timestamp', 'full', 'stream']);
    expect(modesOf('sqlite', 'destination')).toContain('cdc');
  });

  it('refuses a mode the source or the destination cannot play, naming what they can', () => {
    for (const sql of SQL_CONNECTORS) expect(modeIssue(sync('stream', sql))).toMatch(new RegExp(`^'stream' is not supported by the ${sql} source`));
    expect(modeIssue(sync('id', 'kafka'))).toBe("'id' is not supported by the kafka source (it supports 'stream')");
    expect(modeIssue(sync('cdc', 'sqlite'))).toMatch(/^'cdc' is not supported by the sqlite source/);
    expect(modeIssue(sync('cdc', 'postgres', 'kafka'))).toMatch(/^'cdc' is not supported by the kafka destination/);
    expect(modeIssue(sync('destination-id', 'postgres', 'kafka'))).toBe(
      "'destination-id' is not supported by the kafka destination (it supports 'id', 'timestamp', 'full', 'stream')",
    );
    expect(modeIssue(sync('destination-id', 'postgres', 'mongodb'))).toBeUndefined();
  });

  it('applies the changes of a change log by key: cdc upserts unless told otherwise, and refuses insert', () => {
    const config = validateSyncConfig(sync('cdc', 'postgres'));
    expect(normalizeSync(config).writeMode).toBe('upsert');
    expect(() => validateSyncConfig({ ...sync('cdc', 'postgres'), writeMode: 'insert' })).toThrow(
      "writeMode: must be 'upsert' when mode is 'cdc' (updates and deletes are applied by key)",
    );
    expect(() => validateSyncConfig({ ...sync('cdc', 'postgres'), keyColumns: undefined })).toThrow("keyColumns: is required when mode is 'cdc'");
  });
});

describe('positions', () => {
  it('start before the first row, in the first pass of full mode', () => {
    expect(POSITION_KINDS.map(startPosition)).toEqual([
      { kind: 'id', value: null },
      { kind: 'timestamp', value: null, tiebreaker: null },
      { kind: 'full', value: { run: 1, after: null } },
      { kind: 'stream', value: null },
    ]);
  });

  it('read in one line', () => {
    expect(describePosition(undefined)).toBe('none (starts from the beginning)');
    expect(describePosition({ kind: 'id', value: '9007199254740993' })).toBe('id > 9007199254740993');
    expect(describePosition({ kind: 'timestamp', value: '2024-01-01 00:00:00.123456', tiebreaker: '7' })).toBe(
      'timestamp > 2024-01-01 00:00:00.123456 (tiebreaker 7)',
    );
    expect(describePosition({ kind: 'full', value: { run: 3, after: ['9', 'a'] } })).toBe('full pass 3, after key (9, a)');
  });

  it('are checked against the schema when a stored offset is read', () => {
    const doc = (position: object) => JSON.stringify({ v: 1, committedAt: 'now', agentId: 'a', epoch: 0, ...position });
    expect(parseOffsetDocument(doc({ kind: 'full', value: { run: 2, after: ['5'] } }), 'f')).toMatchObject({ kind: 'full', value: { run: 2 } });
    expect(() => parseOffsetDocument(doc({ kind: 'full', value: { run: 2, after: 5 } }), 'f')).toThrow(
      /offset at f does not hold a valid position: value.after/,
    );
    expect(() => parseOffsetDocument(doc({ kind: 'cursor', value: '5' }), 'f')).toThrow(
      "does not hold a valid position: kind: must be one of 'id', 'timestamp', 'full', 'stream'",
    );
  });
});
