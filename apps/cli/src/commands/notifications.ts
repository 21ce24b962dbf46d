import { IdraApiError, type NotificationChannel, type NotificationRule } from '@idra/api-client';
import { readDocument, type Command } from '../command.ts';
import { table } from '../output.ts';

/** What a rule watches for, in a few words. */
function watches(r: NotificationRule): string {
  return [
    r.onFailed !== false ? 'failed' : undefined,
    r.onRetryingMinutes !== undefined ? `retrying ${r.onRetryingMinutes}m` : undefined,
    r.onLagMinutes !== undefined ? `lagging ${r.onLagMinutes}m` : undefined,
    r.onAgentsBelow !== undefined ? `agents < ${r.onAgentsBelow}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
}

/** Notification channels and rules (admin), a test message, open incidents and the delivery log. */
export const notificationCommands: Command[] = [
  {
    name: 'channels list',
    aliases: ['channels'],
    help: ['notification channels (admin; URL and secret masked)'],
    async run({ out, api }) {
      const list = await (await api()).notifications.channels();
      out(
        table(
          ['ID', 'KIND', 'NAME', 'URL', 'SIGNED', 'ENABLED'],
          list.map((c) => [c.id, c.kind, c.name, c.url, c.secret !== undefined, c.enabled !== false]),
        ),
        list,
      );
    },
  },
  {
    name: 'channels set',
    usage: '-f <file|->',
    help: ['creates or replaces a channel: {"id","kind":"webhook"|"slack","url","secret"?}', '(read it from stdin to keep the URL out of the shell history)'],
    async run({ flags, io, out, api }) {
      const saved = await (await api()).notifications.putChannel((await readDocument(io, flags.file)) as NotificationChannel);
      out(`saved channel ${saved.id} (${saved.kind}, ${saved.url})\n`, saved);
    },
  },
  {
    name: 'channels delete',
    usage: '<id>',
    async run({ out, api, id }) {
      const channelId = id();
      await (await api()).notifications.deleteChannel(channelId);
      out(`deleted channel ${channelId}\n`, { deleted: channelId });
    },
  },
  {
    name: 'channels test',
    usage: '<id>',
    help: ['sends a sample notification now; exit 1 if the receiver did not take it'],
    async run({ out, api, id }) {
      const channelId = id();
      const result = await (await api()).notifications.testChannel(channelId);
      if (!result.ok)
        throw new IdraApiError(0, {
          code: 'IDRA_ERR_NOTIFY_TEST_FAILED',
          message: `test message through ${channelId} not delivered: ${result.error ?? 'unknown error'}`,
          details: { ...result },
        });
      out(`test message delivered through ${channelId} (HTTP ${result.httpStatus})\n`, result);
    },
  },
  {
    name: 'rules list',
    aliases: ['rules'],
    help: ['notification rules (admin)'],
    async run({ out, api }) {
      const list = await (await api()).notifications.rules();
      out(
        table(
          ['ID', 'SYNCS', 'ON', 'CHANNELS', 'ENABLED'],
          list.map((r) => [r.id, r.syncs?.length ? r.syncs.join(',') : 'all', watches(r), r.channels.join(','), r.enabled !== false]),
        ),
        list,
      );
    },
  },
  {
    name: 'rules set',
    usage: '-f <file|->',
    help: ['creates or replaces a rule: {"id","channels":[…],"syncs"?,"onFailed"?,"onRetryingMinutes"?,"onLagMinutes"?,"onAgentsBelow"?}'],
    async run({ flags, io, out, api }) {
      const saved = await (await api()).notifications.putRule((await readDocument(io, flags.file)) as NotificationRule);
      out(`saved rule ${saved.id} (${watches(saved)})\n`, saved);
    },
  },
  {
    name: 'rules delete',
    usage: '<id>',
    async run({ out, api, id }) {
      const ruleId = id();
      await (await api()).notifications.deleteRule(ruleId);
      out(`deleted rule ${ruleId}\n`, { deleted: ruleId });
    },
  },
  {
    name: 'incidents',
    help: ['incidents the leader has told (open) or is timing (pending)'],
    async run({ out, api }) {
      const list = await (await api()).notifications.incidents();
      out(
        table(
          ['INCIDENT', 'STATE', 'SINCE', 'REASON'],
          list.map((i) => [i.id, i.state, i.since, i.reason]),
        ),
        list,
      );
    },
  },
  {
    name: 'deliveries',
    help: ['the notification delivery log, newest first'],
    async run({ out, api }) {
      const list = await (await api()).notifications.deliveries();
      out(
        table(
          ['WHEN', 'CHANNEL', 'EVENT', 'STATUS', 'ATTEMPTS', 'HTTP', 'MESSAGE'],
          list.map((d) => [d.updatedAt, d.channelId, d.eventType, d.status, d.attempts, d.httpStatus, d.error ?? d.text]),
        ),
        list,
      );
    },
  },
];
