// A program guarded like the agent, running two syncs; the source of `faulty` raises an 'error' event
// that no one listens to, as a driver's connection does when its server goes away between calls.
// Prints the guard's log lines and every status as JSON lines, for process-guard.test.ts.
import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileOffsetStore, SyncRunner, guardProcess, normalizeSync, silentLogger, validateSyncConfig, type ConnectorRegistry, type Logger } from '../index.ts';

const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
const log: Logger = { ...silentLogger, error: (obj, msg) => print({ log: msg, ...obj }) };
guardProcess(log);

const ROWS = [{ id: '1' }, { id: '2' }, { id: '3' }];

function registry(faulty: boolean): ConnectorRegistry {
  let opened = 0;
  return {
    async openSource() {
      opened++;
      // Created while the source opens, like a driver's socket: its events run in the sync's context.
      const connection = new EventEmitter();
      if (faulty && opened === 1) setTimeout(() => connection.emit('error', new Error('read ECONNRESET (simulated)')), 50);
      return {
        async read(position) {
          const after = position.kind === 'id' && position.value !== null ? Number(position.value) : 0;
          const rows = ROWS.filter((r) => Number(r.id) > after);
          return { columns: [{ name: 'id', type: 'int64' }], rows, position: rows.length > 0 ? { kind: 'id', value: rows.at(-1)!.id } : position };
        },
        async close() {},
      };
    },
    async openDestination() {
      return { write: async (batch) => ({ written: batch.rows.length }), close: async () => {} };
    },
  };
}

const stateDir = mkdtempSync(join(tmpdir(), 'idra-stray-'));
for (const id of ['faulty', 'healthy']) {
  const config = validateSyncConfig({
    id,
    source: { connector: 'sqlite', connection: { file: 'x' }, table: 't' },
    destination: { connector: 'sqlite', connection: { file: 'y' }, table: 't' },
    mode: 'id',
    cursorColumn: 'id',
    pollIntervalMs: 20,
  });
  const runner = new SyncRunner({
    sync: normalizeSync(config),
    connectors: registry(id === 'faulty'),
    offsets: new FileOffsetStore(stateDir),
    deadLetters: { record: async () => {} },
    agentId: 'stray-test',
    backoff: { initialMs: 50, maxMs: 50 },
    onStatus: (s) => print({ status: { syncId: s.syncId, state: s.state, lastError: s.lastError } }),
  });
  void runner.start();
}
