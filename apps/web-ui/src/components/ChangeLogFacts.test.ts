import { describe, expect, it } from 'vitest';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import type { SyncStatus } from '@idra/api-client';
import { ChangeLogFacts } from './ChangeLogFacts.tsx';

const status = (value: unknown, lag: SyncStatus['lag']): SyncStatus =>
  ({ syncId: 's1', state: 'running', rowsCopied: 10, rowsUpdated: 4, rowsDeleted: 1, position: { kind: 'stream', value }, lag }) as unknown as SyncStatus;

describe('ChangeLogFacts', () => {
  it('shows a binlog sync its position, GTID position, server id and the binlog behind the server', () => {
    const html = renderToStaticMarkup(
      createElement(ChangeLogFacts, {
        status: status({ file: 'binlog.000002', pos: 1234, gtid: '0-1-57', serverId: 2000000001 }, { bytes: 2048, seconds: 0 }),
      }),
    );
    expect(html).toContain('Binlog position');
    expect(html).toContain('binlog.000002:1234');
    expect(html).toContain('0-1-57');
    expect(html).toContain('2000000001');
    expect(html).toMatch(/Binlog behind the server<\/dt><dd>2(\.0)? KiB/);
    expect(html).not.toContain('Replication slot');
  });

  it('shows a PostgreSQL sync its slot and the WAL it holds', () => {
    const html = renderToStaticMarkup(createElement(ChangeLogFacts, { status: status({ slot: 'idra_s1', lsn: '0/10' }, { bytes: 4096 }) }));
    expect(html).toContain('idra_s1');
    expect(html).toContain('WAL held by the slot');
    expect(html).not.toContain('Binlog');
  });
});
