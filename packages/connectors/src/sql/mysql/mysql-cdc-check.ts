/** Runs one statement on the source. */
type Query = <R>(text: string) => Promise<R[]>;

/** What a binlog reader needs, in the words of `changeLogProblems`. */
export type BinlogNeed = 'log_bin' | 'binlog_format' | 'binlog_row_image' | 'replication';

/** `'user'@'host'` as GRANT takes an account `current_user()` names. */
export function grantAccount(user: string): string {
  const at = user.lastIndexOf('@');
  const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  return `${quote(user.slice(0, at))}@${quote(user.slice(at + 1))}`;
}

/**
 * What stops a `cdc` sync from reading this server's binlog, each with what to change; empty when
 * nothing does. Checked by "Test connection" and again when a sync starts.
 */
export async function changeLogProblems(query: Query): Promise<Array<{ need: BinlogNeed; message: string }>> {
  const [s] = await query<{ log_bin: number | string; format: string; image: string; version: string; user: string }>(
    'select @@global.log_bin as log_bin, @@global.binlog_format as format, @@global.binlog_row_image as image, version() as version, current_user() as user',
  );
  const grants = (await query<Record<string, string>>('show grants')).map((row) => Object.values(row)[0] ?? '');
  const global = grants.filter((g) => / ON \*\.\* TO /i.test(g)).join(' ');
  const mariadb = /mariadb/i.test(s!.version);
  const problems: Array<{ need: BinlogNeed; message: string }> = [];
  if (Number(s!.log_bin) !== 1)
    problems.push({
      need: 'log_bin',
      message: 'the server writes no binlog (log_bin is OFF): add log_bin and a server_id under [mysqld] in my.cnf and restart the server',
    });
  if (s!.format !== 'ROW')
    problems.push({
      need: 'binlog_format',
      message: `the binlog is in ${s!.format} format: set binlog_format = ROW in my.cnf (SET GLOBAL binlog_format = 'ROW' for new sessions until the restart)`,
    });
  if (s!.image !== 'FULL')
    problems.push({
      need: 'binlog_row_image',
      message: `the binlog keeps ${s!.image} row images: set binlog_row_image = FULL in my.cnf (SET GLOBAL binlog_row_image = 'FULL' for new sessions until the restart)`,
    });
  const all = /GRANT ALL PRIVILEGES ON \*\.\*/i.test(global);
  const slave = all || /REPLICATION SLAVE/i.test(global);
  // MariaDB 10.5 renamed REPLICATION CLIENT to BINLOG MONITOR (SHOW GRANTS says the new name); SUPER covers it on older servers.
  const monitor = all || /REPLICATION CLIENT|BINLOG MONITOR|\bSUPER\b/i.test(global);
  if (!slave || !monitor) {
    const missing = [...(slave ? [] : ['REPLICATION SLAVE']), ...(monitor ? [] : [mariadb ? 'BINLOG MONITOR' : 'REPLICATION CLIENT'])];
    problems.push({ need: 'replication', message: `the user cannot read the binlog: GRANT ${missing.join(', ')} ON *.* TO ${grantAccount(s!.user)}` });
  }
  return problems;
}
