import { describe, expect, it } from 'vitest';
import { messageBytes, sendChunks } from './kafka-destination.ts';

describe('kafka destination requests', () => {
  it('cuts the messages into runs of at most sendMaxBytes, in order; a message larger than that goes alone', () => {
    const messages = Array.from({ length: 10 }, (_, i) => ({ key: String(i), value: 'v'.repeat(i === 6 ? 5_000 : 100), headers: { 'idra-columns': 'c' } }));
    expect(messageBytes(messages[0]!)).toBe(32 + 1 + 100 + 'idra-columns'.length + 1);
    const chunks = sendChunks(messages, 1_000);
    expect(chunks.flat()).toEqual(messages);
    expect(chunks.map((c) => c.map((m) => m.key))).toEqual([['0', '1', '2', '3', '4', '5'], ['6'], ['7', '8', '9']]);
    for (const c of chunks) if (c.length > 1) expect(c.reduce((n, m) => n + messageBytes(m), 0)).toBeLessThanOrEqual(1_000);
    expect(sendChunks([], 1_000)).toEqual([]);
  });
});
