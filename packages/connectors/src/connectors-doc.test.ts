import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONNECTORS, LOGICAL_TYPES, modesOf, type Column, type ConnectorSpec } from '@idra/core';
import { CONNECTOR_SPECS } from './catalogue.ts';
import { SQL_DIALECTS } from './sql/index.ts';

/**
 * docs/connectors.md holds generated blocks between `<!-- generated:NAME -->` and
 * `<!-- /generated:NAME -->`: each connector's modes and options (from its contract, the one place
 * options are declared and described) and the SQL type mapping (from the dialects). This test fails
 * when a block differs from what the code says; IDRA_WRITE_DOCS=1 rewrites them.
 */
const DOC = new URL('../../../docs/connectors.md', import.meta.url);

interface OptionSchema {
  description?: string;
  default?: unknown;
  enum?: string[];
  anyOf?: Array<{ type?: string; pattern?: string }>;
  'x-idra-only'?: 'source' | 'destination';
  'x-idra-convert'?: 'duration' | 'list' | 'columnTypes';
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function milliseconds(ms: number): string {
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}min`;
  if (ms !== 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function defaultText(schema: OptionSchema): string {
  const value = schema.default;
  if (value === undefined) return '';
  if (schema['x-idra-convert'] === 'duration') return `\`${milliseconds(value as number)}\``;
  if (schema['x-idra-convert'] === 'columnTypes') return '';
  return `\`${JSON.stringify(value)}\``;
}

function valuesText(schema: OptionSchema): string {
  if (schema.enum) return `one of ${schema.enum.map((v) => `\`${v}\``).join(', ')}: `;
  if (schema['x-idra-convert'] === 'duration') return 'milliseconds or a duration (`"5s"`): ';
  if (schema['x-idra-convert'] === 'list') return 'a list (or a comma-separated string): ';
  return '';
}

function modesText(spec: ConnectorSpec): string {
  const roles = (['source', 'destination'] as const).filter((r) => spec[r]);
  return roles
    .map(
      (r) =>
        `${r}: ${modesOf(spec.kind, r)
          .map((m) => `\`${m}\``)
          .join(', ')}`,
    )
    .join('; ');
}

/** The options of a connector as a table: name, the role that takes it, its default, what it does. */
function optionsBlock(spec: ConnectorSpec): string {
  const rows = Object.entries(spec.options).map(([name, raw]) => {
    const schema = raw as unknown as OptionSchema;
    const role = schema['x-idra-only'] ?? 'both';
    return `| \`${name}\` | ${role} | ${cell(defaultText(schema))} | ${cell(valuesText(schema) + (schema.description ?? ''))} |`;
  });
  return [`Modes — ${modesText(spec)}.`, '', '| option | role | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** The column type each SQL destination gives a logical type when Idra creates the table (key columns where they differ). */
function typeMappingBlock(): string {
  const dialects = Object.values(SQL_DIALECTS);
  const columns: Array<{ label: string; column: Column }> = [
    ...LOGICAL_TYPES.map((type) => ({ label: `\`${type}\``, column: { name: 'c', type } as Column })),
    { label: '`decimal(12,2)` (declared by the source)', column: { name: 'c', type: 'decimal', precision: 12, scale: 2 } },
  ];
  const rows = columns.map(({ label, column }) => {
    const types = dialects.map((d) => {
      const plain = d.columnType(column, false);
      const key = d.columnType(column, true);
      return cell(key === plain ? `\`${plain}\`` : `\`${plain}\` (key: \`${key}\`)`);
    });
    return `| ${label} | ${types.join(' | ')} |`;
  });
  return [`| Idra type | ${dialects.map((d) => d.label).join(' | ')} |`, `|---|${dialects.map(() => '---|').join('')}`, ...rows].join('\n');
}

function generatedBlocks(): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const kind of CONNECTORS) blocks.set(`options:${kind}`, optionsBlock(CONNECTOR_SPECS[kind]));
  blocks.set('sql-types', typeMappingBlock());
  return blocks;
}

/** The document with every generated block replaced by what the code says now; throws naming a block the document lacks. */
function regenerate(doc: string, blocks: Map<string, string>): string {
  let out = doc;
  for (const [name, body] of blocks) {
    const start = `<!-- generated:${name} -->`;
    const end = `<!-- /generated:${name} -->`;
    const from = out.indexOf(start);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/connectors.md has no block ${start} … ${end}`);
    out = `${out.slice(0, from + start.length)}\n${body}\n${out.slice(to)}`;
  }
  return out;
}

describe('docs/connectors.md', () => {
  it("lists every connector's modes and options (each declared option, nothing else) and the SQL type mapping as the code has them", () => {
    const doc = readFileSync(DOC, 'utf8');
    const expected = regenerate(doc, generatedBlocks());
    if (process.env.IDRA_WRITE_DOCS === '1') writeFileSync(DOC, expected);
    expect(doc, 'docs/connectors.md differs from the contracts: IDRA_WRITE_DOCS=1 pnpm vitest run packages/connectors/src/connectors-doc.test.ts').toBe(
      expected,
    );
  });
});
