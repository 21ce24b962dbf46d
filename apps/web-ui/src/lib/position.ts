import type { Position } from '@idra/api-client';

/** A position in one line, as an operator reads it. */
export function describePosition(p: Position | null | undefined): string {
  if (!p) return 'none (starts from the beginning)';
  switch (p.kind) {
    case 'id':
      return p.value === null ? 'id: start' : `id > ${p.value}`;
    case 'timestamp':
      return p.value === null ? 'timestamp: start' : `timestamp > ${p.value}${p.tiebreaker !== null ? ` (tiebreaker ${p.tiebreaker})` : ''}`;
    case 'full':
      return `full pass ${p.value.run}${p.value.after ? `, after key (${p.value.after.join(', ')})` : ', at the start'}`;
    case 'stream':
      return `stream: ${JSON.stringify(p.value)}`;
  }
}
