import type { Connection } from './schema.ts';
import type { ReportLines } from './go-report.ts';

/** A Go connection string turned into an Idra connection, with what the offsets of its syncs need to know. */
export interface GoConnection {
  connection: Connection;
  /**
   * The zone Go read wall-clock timestamps in (its timestamp offsets are milliseconds since the epoch
   * of those readings): 'UTC', an IANA name, or 'Local' (the Go agent host's zone, unknown here).
   */
  zone: string;
  /** PostgreSQL `search_path`: the schema Go found unqualified tables in. */
  searchPath?: string | undefined;
  /** Endpoint options the connection string implies (S3's region). */
  endpointOptions?: Record<string, unknown> | undefined;
}

/** `host=h port=5432 user=u password='p w' dbname=d` → its fields, keys as written. */
function parseKeywordDsn(dsn: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const re = /([\w.]+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S*))/g;
  for (const m of dsn.matchAll(re)) out.push([m[1]!, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '')]);
  return out;
}

function port(value: string, field: string, lines: ReportLines): number | undefined {
  const n = Number(value);
  if (/^\d+$/.test(value) && n >= 1 && n <= 65535) return n;
  lines.add(field, 'refused', `port '${value}' is not a port number`);
  return undefined;
}

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** PostgresGORM: pgx keyword/value or `postgres://` URL. */
function postgres(dsn: string, field: string, lines: ReportLines): GoConnection | undefined {
  let pairs: Array<[string, string]>;
  if (/^postgres(ql)?:\/\//i.test(dsn)) {
    let url: URL;
    try {
      url = new URL(dsn);
    } catch {
      lines.add(field, 'refused', 'is not a valid postgres:// URL');
      return undefined;
    }
    pairs = [];
    if (url.hostname) pairs.push(['host', decode(url.hostname)]);
    if (url.port) pairs.push(['port', url.port]);
    if (url.username) pairs.push(['user', decode(url.username)]);
    if (url.password) pairs.push(['password', decode(url.password)]);
    const db = decode(url.pathname.replace(/^\//, ''));
    if (db) pairs.push(['dbname', db]);
    pairs.push(...url.searchParams.entries());
  } else {
    pairs = parseKeywordDsn(dsn);
  }
  const c: Connection = {};
  const out: GoConnection = { connection: c, zone: 'UTC' };
  let sslmode: string | undefined;
  for (const [key, value] of pairs) {
    const at = `${field}.${key}`;
    switch (key.toLowerCase()) {
      case 'host':
        c.host = value;
        break;
      case 'port': {
        const p = port(value, at, lines);
        if (p) c.port = p;
        break;
      }
      case 'user':
        c.user = value;
        break;
      case 'password':
        c.password = value;
        break;
      case 'dbname':
        c.database = value;
        break;
      case 'sslmode':
        sslmode = value;
        break;
      case 'timezone':
        lines.add(
          at,
          'ignored',
          `Idra's sessions use UTC: timestamptz values are exact instants either way, and timestamp (without time zone) values are copied as written, never shifted to ${value}`,
        );
        break;
      case 'search_path':
        out.searchPath = value.split(',')[0]!.trim().replace(/^"|"$/g, '') || undefined;
        lines.add(
          at,
          'converted',
          out.searchPath ? `unqualified tables are looked up in schema '${out.searchPath}' (Idra qualifies them; it has no search_path)` : 'empty: ignored',
        );
        break;
      default:
        lines.add(at, 'ignored', 'a driver setting Idra does not use');
    }
  }
  if (!c.host) {
    c.host = 'localhost';
    lines.add(`${field}.host`, 'converted', "absent: 'localhost', the driver's default");
  }
  if (!c.database && c.user) {
    c.database = c.user;
    lines.add(`${field}.dbname`, 'converted', `absent: '${c.user}', the user name (PostgreSQL's default database)`);
  }
  switch ((sslmode ?? 'prefer').toLowerCase()) {
    case 'disable':
      lines.add(`${field}.sslmode`, 'mapped', 'no TLS');
      break;
    case 'allow':
    case 'prefer':
      lines.add(
        `${field}.sslmode`,
        'converted',
        `${sslmode ? `'${sslmode}'` : 'absent (pgx: prefer)'}: Idra connects without TLS, as pgx falls back to when the server offers none; set connection.ssl for TLS`,
      );
      break;
    case 'require':
      c.ssl = true;
      c.options = { ...c.options, ssl: { rejectUnauthorized: false } };
      lines.add(`${field}.sslmode`, 'converted', "TLS without verifying the server's certificate (connection.ssl, options.ssl.rejectUnauthorized: false)");
      break;
    case 'verify-ca':
    case 'verify-full':
      c.ssl = true;
      lines.add(`${field}.sslmode`, 'converted', "TLS verifying the server's certificate and name against the system's CAs (connection.ssl)");
      break;
    default:
      lines.add(`${field}.sslmode`, 'refused', `'${sslmode}' is not a PostgreSQL sslmode`);
  }
  lines.add(field, 'converted', 'host, port, user, password and dbname became connection fields');
  return out;
}

/** MysqlGORM: go-sql-driver `[user[:password]@][net[(addr)]]/dbname[?params]`. */
function mysql(dsn: string, field: string, lines: ReportLines): GoConnection | undefined {
  const slash = dsn.lastIndexOf('/');
  if (slash < 0) {
    lines.add(field, 'refused', 'is not a MySQL DSN (user:password@tcp(host:port)/dbname)');
    return undefined;
  }
  const before = dsn.slice(0, slash);
  const [dbname, params = ''] = dsn.slice(slash + 1).split(/\?(.*)/s);
  const at = before.lastIndexOf('@');
  const userinfo = at >= 0 ? before.slice(0, at) : '';
  const address = at >= 0 ? before.slice(at + 1) : before;
  const c: Connection = {};
  const colon = userinfo.indexOf(':');
  const user = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
  if (user) c.user = user;
  if (colon >= 0) c.password = userinfo.slice(colon + 1);
  const net = /^([a-z0-9]*)(?:\((.*)\))?$/i.exec(address);
  if (!net) {
    lines.add(field, 'refused', `address '${address}' is not net(addr), e.g. tcp(127.0.0.1:3306)`);
    return undefined;
  }
  if ((net[1] || 'tcp') !== 'tcp') {
    lines.add(field, 'refused', `network '${net[1]}': Idra connects to MySQL over TCP only (give tcp(host:port))`);
    return undefined;
  }
  const [host, p] = (net[2] || '127.0.0.1:3306').split(/:(?=[^:]*$)/);
  c.host = host || '127.0.0.1';
  if (p) {
    const n = port(p, `${field}.addr`, lines);
    if (n) c.port = n;
  } else c.port = 3306;
  if (dbname) c.database = dbname;
  const out: GoConnection = { connection: c, zone: 'UTC' };
  for (const pair of params.split('&').filter(Boolean)) {
    const [key, raw = ''] = pair.split(/=(.*)/s) as [string, string?];
    const value = decode(raw);
    const at = `${field}.${key}`;
    switch (key) {
      case 'charset':
        lines.add(
          at,
          value.split(',').every((cs) => /^utf8(mb4|mb3)?$/i.test(cs)) ? 'mapped' : 'converted',
          `Idra's sessions use utf8mb4${/^utf8/i.test(value) ? '' : `: MySQL converts ${value} columns to and from it`}`,
        );
        break;
      case 'parseTime':
        lines.add(at, 'ignored', 'Idra reads DATETIME and TIMESTAMP values as exact text, never through a Go or JavaScript time');
        break;
      case 'loc':
        out.zone = value === 'Local' ? 'Local' : value;
        lines.add(
          at,
          'converted',
          `Go read DATETIME values as wall-clock times in ${value === 'Local' ? "its host's local zone" : value}; Idra copies them unshifted, and reads Go's millisecond offsets back in that zone (idra migrate)`,
        );
        break;
      case 'tls':
        if (value === 'true') c.ssl = true;
        else if (value === 'skip-verify') {
          c.ssl = true;
          c.options = { ...c.options, ssl: { rejectUnauthorized: false } };
        }
        lines.add(
          at,
          value === 'false' || value === 'preferred' ? 'converted' : 'mapped',
          value === 'false'
            ? 'no TLS'
            : value === 'preferred'
              ? 'Idra connects without TLS; set connection.ssl for TLS'
              : value === 'skip-verify'
                ? 'TLS without verifying the certificate'
                : 'TLS',
        );
        break;
      default:
        lines.add(at, 'ignored', 'a driver setting Idra does not use');
    }
  }
  lines.add(field, 'converted', 'user, password, address and dbname became connection fields');
  return out;
}

/** MssqlGORM: go-mssqldb `sqlserver://` URL or ADO `key=value;…`. */
function mssql(dsn: string, field: string, lines: ReportLines): GoConnection | undefined {
  const c: Connection = {};
  const settings: Array<[string, string]> = [];
  if (/^sqlserver:\/\//i.test(dsn)) {
    let url: URL;
    try {
      url = new URL(dsn);
    } catch {
      lines.add(field, 'refused', 'is not a valid sqlserver:// URL');
      return undefined;
    }
    if (url.pathname.replace(/^\//, '')) {
      lines.add(`${field}.instance`, 'refused', 'named instances are not supported: give the port instead');
      return undefined;
    }
    c.host = decode(url.hostname);
    if (url.port) c.port = Number(url.port);
    if (url.username) c.user = decode(url.username);
    if (url.password) c.password = decode(url.password);
    settings.push(...url.searchParams.entries());
  } else {
    for (const part of dsn.replace(/^odbc:/i, '').split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0) settings.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
    }
  }
  for (const [key, value] of settings) {
    const at = `${field}.${key}`;
    switch (key.toLowerCase()) {
      case 'server':
      case 'data source':
      case 'address':
      case 'addr':
      case 'network address': {
        const [host, instanceOrPort] = value.split(/[\\,]/);
        c.host = host!;
        if (value.includes('\\')) {
          lines.add(at, 'refused', 'named instances are not supported: give the port instead');
          return undefined;
        }
        if (instanceOrPort) c.port = port(instanceOrPort, at, lines);
        break;
      }
      case 'port':
        c.port = port(value, at, lines);
        break;
      case 'user id':
      case 'uid':
      case 'user':
        c.user = value;
        break;
      case 'password':
      case 'pwd':
        c.password = value;
        break;
      case 'database':
      case 'initial catalog':
        c.database = value;
        break;
      case 'encrypt':
        if (/^(true|yes|strict|mandatory)$/i.test(value)) c.ssl = true;
        lines.add(at, 'mapped', c.ssl ? 'TLS' : 'no TLS');
        break;
      default:
        lines.add(at, 'ignored', 'a driver setting Idra does not use');
    }
  }
  if (!c.host) {
    lines.add(field, 'refused', 'names no server');
    return undefined;
  }
  lines.add(field, 'converted', 'server, port, user, password and database became connection fields');
  // go-mssqldb returns datetime and datetime2 values as UTC wall-clock times.
  return { connection: c, zone: 'UTC' };
}

/** KafkaConnector: librdkafka's `bootstrap.servers`, `host:port[,host:port]`. */
function kafka(dsn: string, field: string, lines: ReportLines): GoConnection | undefined {
  const brokers = dsn
    .split(',')
    .map((b) => b.trim().replace(/^[a-z_]+:\/\//i, ''))
    .filter(Boolean);
  const bad = brokers.findIndex((b) => !/^[A-Za-z0-9_.-]+:\d{1,5}$/.test(b) && !/^\[[0-9a-f:]+\]:\d{1,5}$/i.test(b));
  if (brokers.length === 0 || bad >= 0) {
    // The text is not quoted: a connection string put here by mistake may hold a password.
    lines.add(field, 'refused', `is not a list of Kafka brokers host:port[,host:port]${bad >= 0 ? ` (entry ${bad + 1} is not host:port)` : ''}`);
    return undefined;
  }
  const [host, p] = brokers[0]!.split(/:(?=\d+$)/);
  const c: Connection = { host: host!.replace(/^\[|\]$/g, ''), port: Number(p) };
  if (brokers.length > 1) c.options = { brokers };
  lines.add(
    field,
    'converted',
    brokers.length > 1 ? `brokers ${brokers.join(', ')} (connection.options.brokers)` : `broker ${brokers[0]} (connection host and port)`,
  );
  return { connection: c, zone: 'UTC' };
}

/** MongodbConnector: a `mongodb://` or `mongodb+srv://` URL, as the Go driver took it. */
function mongodb(dsn: string, field: string, lines: ReportLines): GoConnection | undefined {
  try {
    if (!/^mongodb(\+srv)?:$/.test(new URL(dsn).protocol)) throw new Error('scheme');
  } catch {
    lines.add(field, 'refused', 'is not a mongodb:// or mongodb+srv:// URL');
    return undefined;
  }
  lines.add(field, 'mapped', 'connection.url');
  return { connection: { url: dsn }, zone: 'UTC' };
}

/** s3JsonConnector: the region (Go's test passed 'eu-west-1'), or an S3-compatible endpoint URL. */
function s3(dsn: string, field: string, lines: ReportLines): GoConnection | undefined {
  if (/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(dsn)) {
    lines.add(
      field,
      'converted',
      `region ${dsn}: connection.url https://s3.${dsn}.amazonaws.com, options.region and virtual-hosted addressing (Idra needs the endpoint; Go's SDK derived it)`,
    );
    return { connection: { url: `https://s3.${dsn}.amazonaws.com` }, zone: 'UTC', endpointOptions: { region: dsn, pathStyle: false } };
  }
  if (/^https?:\/\//i.test(dsn)) {
    lines.add(field, 'mapped', 'connection.url (an S3-compatible endpoint)');
    return { connection: { url: dsn }, zone: 'UTC' };
  }
  lines.add(field, 'refused', 'is neither an AWS region (eu-west-1) nor an endpoint URL');
  return undefined;
}

/** RestConnector: the API's URL. */
function http(dsn: string, field: string, lines: ReportLines): GoConnection | undefined {
  try {
    if (!/^https?:$/.test(new URL(dsn).protocol)) throw new Error('scheme');
  } catch {
    lines.add(field, 'refused', 'is not an http:// or https:// URL');
    return undefined;
  }
  lines.add(
    field,
    'mapped',
    "connection.url (Idra reaches loopback, private and link-local addresses only when the agents' IDRA_HTTP_ALLOW lists them; Go reached any)",
  );
  return { connection: { url: dsn }, zone: 'UTC' };
}

const CONVERTERS = { postgres, mysql, mssql, kafka, mongodb, s3, http } as const;

/** The Idra connector kinds a Go connector type can become. */
export type GoConnectorKind = keyof typeof CONVERTERS;

/**
 * Converts a Go connection string (`connection_string` of a connector) into an Idra connection,
 * recording each setting's fate in `lines` under `field`; undefined when it cannot be converted.
 */
export function convertGoConnection(kind: GoConnectorKind, dsn: string, field: string, lines: ReportLines): GoConnection | undefined {
  return CONVERTERS[kind](dsn.trim(), field, lines);
}
