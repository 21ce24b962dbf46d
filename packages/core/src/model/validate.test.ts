import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { ChannelSchema, RuleSchema } from '../notify/notify-model.ts';
import { PositionSchema } from './position.ts';
import { ConfigFileSchema, ConfigFileShapeSchema, DataSourceSchema, SyncSchema } from './schema.ts';
import { schemaDefects, schemaIssues } from './validate.ts';

describe('the schemas validation compiles', () => {
  it('are valid JSON Schema (validation itself no longer checks them against the meta-schema)', () => {
    const schemas = { SyncSchema, DataSourceSchema, ConfigFileSchema, ConfigFileShapeSchema, ChannelSchema, RuleSchema, PositionSchema };
    for (const [name, schema] of Object.entries(schemas)) expect({ name, defects: schemaDefects(schema) }).toEqual({ name, defects: [] });
  });

  it('a malformed schema is reported by the check, and validating with it does not throw', () => {
    const malformed = Type.String({ minLength: -1 });
    expect(schemaDefects(malformed)).toEqual(['/minLength must be >= 0']);
    expect(schemaIssues(Type.Object({ id: Type.String() }), { id: 1 })).toEqual([{ path: 'id', message: 'must be string' }]);
  });
});
