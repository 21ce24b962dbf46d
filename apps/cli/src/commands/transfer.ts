import { readDocument, type Command } from '../command.ts';
import { goIdraRunning, importSummary, migrate, migrationPlan, reportText } from '../go-idra.ts';

/** Importing exports (Idra's and the original Go Idra's) and migrating a running Go Idra. */
export const transferCommands: Command[] = [
  {
    name: 'import',
    aliases: ['syncs import'],
    usage: '-f <file|-> [--overwrite] [--dry-run] [--skip-refused]',
    help: ['Idra export, sync array, or original Go Idra export (also: syncs import);', 'Go Idra: a report of every sync and field; --dry-run writes nothing'],
    async run({ flags, io, out, api }) {
      const client = await api();
      const r = await client.import(await readDocument(io, flags.file), {
        overwrite: flags.overwrite,
        dryRun: flags['dry-run'],
        skipRefused: flags['skip-refused'],
      });
      out(`${r.report ? reportText(r.report) : ''}${importSummary(r)}`, r);
    },
  },
  {
    name: 'migrate',
    usage: '--go-etcd <url> [--time-zone <zone>] [--dry-run] [--paused] [--overwrite] [--skip-refused]',
    help: [
      "admin: import a running Go Idra's syncs with their offsets from its etcd",
      '(read only; IDRA_GO_ETCD_USERNAME, IDRA_GO_ETCD_PASSWORD, IDRA_GO_ETCD_CA/CERT/KEY',
      'for TLS); stop Go Idra first',
    ],
    async run({ flags, io, out, api }) {
      const m = await migrate(
        await api(),
        {
          goEtcd: flags['go-etcd'],
          goEtcdUser: flags['go-etcd-user'],
          timeZone: flags['time-zone'],
          dryRun: Boolean(flags['dry-run']),
          paused: Boolean(flags.paused),
          overwrite: Boolean(flags.overwrite),
          skipRefused: Boolean(flags['skip-refused']),
        },
        io.env,
        (t) => io.stderr.write(t),
      );
      const unused = m.result.unusedOffsets.length
        ? `Go offsets no sync claimed (not imported): ${m.result.unusedOffsets.map((k) => `/offsets/${k}`).join(', ')}\n`
        : '';
      out(
        `${reportText(m.result.report)}${unused}\n${migrationPlan(m.snapshot, m.result, Boolean(flags.paused))}\n${m.blocked ? '' : importSummary(m.result)}`,
        {
          ...m.result,
          goIdra: { agents: m.snapshot.agents, locks: m.snapshot.locks, revision: m.snapshot.revision },
        },
      );
      if (m.blocked) throw goIdraRunning(m.snapshot);
    },
  },
];
