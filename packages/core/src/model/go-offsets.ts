import { ConfigError } from '../errors.ts';
import type { ImportedGoSync } from './go-import.ts';
import type { GoOffsetReport } from './go-report.ts';

/**
 * Go Idra's etcd layout (read from its source: `libraries/etcd`, `models/constants.go`), relative to
 * the etcd root; Go used no prefix of its own.
 */
export const GO_IDRA_KEYS = {
  /** `/syncs/<syncId>`: a sync as JSON. */
  syncs: '/syncs/',
  /** `/offsets/<name>`: a decimal integer (an id, or a timestamp as Unix milliseconds) or a MongoDB resume token. */
  offsets: '/offsets/',
  /** `agents/<leaseId>`: a live agent, on its lease (no leading slash). */
  agents: 'agents/',
  /** `/distributed-locks/<syncId>/<lease>`: a sync an agent is running. */
  locks: '/distributed-locks/',
  /** `/assignments/<machineId>/<syncId>`. */
  assignments: '/assignments/',
} as const;

/** Checks a time zone name (IANA, `UTC`, or an offset such as `+02:00`); throws a ConfigError naming `field`. */
export function checkTimeZone(zone: string, field = 'timeZone'): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    throw new ConfigError([{ path: field, message: `'${zone}' is not a time zone (an IANA name such as Europe/Rome, UTC, or an offset such as +02:00)` }]);
  }
}

/** `ms` since the epoch as wall-clock text in `zone`: `YYYY-MM-DD HH:MM:SS.mmm`. */
export function wallClock(ms: number, zone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  const millis = String(((ms % 1000) + 1000) % 1000).padStart(3, '0');
  return `${parts.year!.padStart(4, '0')}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}.${millis}`;
}

/** The Go offset keys a sync's offset may be under, best first, with why. */
function candidates(s: ImportedGoSync): Array<{ key: string; why: string }> {
  const mode = s.config?.mode;
  const out: Array<{ key: string; why: string }> = [];
  const add = (name: string, why: string) => {
    if (name && !out.some((c) => c.key === name)) out.push({ key: name, why });
  };
  if (mode === 'id') {
    add(s.go.id, 'where Go wrote it after each batch');
    add(s.go.source.name, "where Go read it from (the source's connector_name)");
  } else if (mode === 'timestamp') {
    add(s.go.id, 'where Go wrote it after each batch');
    add(s.go.destination.name, "where Go read it from (the destination's connector_name)");
  } else if (mode === 'stream' && s.config?.source.connector === 'mongodb') {
    add(s.go.source.id, "the source's id: where Go kept the change stream's resume token");
  }
  return out;
}

/** Go printed the token's document with `%v`: `map[_data:8263…]`. */
function resumeToken(raw: string): { _data: string } | undefined {
  const text = raw.trim();
  const m = /^map\[_data:([0-9A-Fa-f]+)\]$/.exec(text) ?? /^([0-9A-Fa-f]{20,})$/.exec(text);
  if (m) return { _data: m[1]! };
  try {
    const doc = JSON.parse(text) as { _data?: unknown };
    if (typeof doc._data === 'string') return { _data: doc._data };
  } catch {
    // not JSON either
  }
  return undefined;
}

/**
 * The offset a migrated sync resumes from, from Go Idra's `/offsets/` values (`offsets`: key after
 * `/offsets/` → raw value). Ids are taken exactly; millisecond timestamps become wall-clock text in
 * `timeZone` when given, else in the zone Go read them in (its connection string says which).
 * `used` collects the keys consulted.
 */
export function migrateGoOffset(s: ImportedGoSync, offsets: ReadonlyMap<string, string>, timeZone: string | undefined, used: Set<string>): GoOffsetReport {
  const config = s.config;
  if (!config) return { outcome: 'none', detail: 'the sync is not imported' };
  const mode = config.mode;
  if (mode === 'destination-id' || mode === 'destination-timestamp') {
    return { outcome: 'none', detail: "none needed: the sync resumes from the destination's newest row, as in Go" };
  }
  if (mode === 'full') return { outcome: 'none', detail: 'none needed: Go kept no offset for FullWithId; the next pass starts at the first key' };
  if (mode === 'stream' && config.source.connector === 'kafka') {
    return {
      outcome: 'ignored',
      detail:
        'Go\'s Kafka source committed its position in a consumer group inside Kafka, not in etcd: read it with kafka-consumer-groups.sh --describe --group <group.id> and set it with idra offsets set <id> --position \'{"kind":"stream","value":{"<partition>":"<next offset>"}}\' before resuming',
    };
  }
  const found = candidates(s).map((c) => ({ ...c, value: offsets.get(c.key) }));
  for (const c of found) used.add(c.key);
  const present = found.filter((c) => c.value !== undefined);
  if (mode === 'stream' && config.source.connector !== 'mongodb')
    return { outcome: 'none', detail: `Go's ${config.source.connector} source kept no offset: the sync starts from the beginning` };
  if (present.length === 0) {
    const where = found.map((c) => `/offsets/${c.key}`).join(' or ');
    return { outcome: 'none', detail: `no Go offset${where ? ` under ${where}` : ''}: the sync starts from the beginning`, position: null };
  }
  const chosen = present[0]!;
  const others = present.slice(1).filter((c) => c.value !== chosen.value);
  const also = others.length > 0 ? `; /offsets/${others[0]!.key} holds '${others[0]!.value}' (${others[0]!.why}), not used` : '';
  const base = { goKey: `/offsets/${chosen.key}`, goValue: chosen.value! };
  const raw = chosen.value!.trim();
  if (mode === 'stream') {
    const token = resumeToken(raw);
    if (!token) return { ...base, outcome: 'refused', detail: `'${raw.slice(0, 60)}' is not a MongoDB resume token` };
    return {
      ...base,
      outcome: 'converted',
      position: { kind: 'stream', value: token },
      detail: `resume token ${token._data.slice(0, 16)}… (Go stored it printed as map[_data:…])${also}`,
    };
  }
  if (!/^-?\d+$/.test(raw)) return { ...base, outcome: 'refused', detail: `'${raw.slice(0, 60)}' is not an integer` };
  if (BigInt(raw) <= 0n)
    return { ...base, outcome: 'mapped', position: null, detail: `${raw}: Go had copied nothing yet; the sync starts from the beginning${also}` };
  if (mode === 'id')
    return { ...base, outcome: 'mapped', position: { kind: 'id', value: BigInt(raw).toString() }, detail: `id ${raw} (${chosen.why}), exact${also}` };
  // timestamp: Unix milliseconds of the last row Go copied, read in `zone`.
  const zone = timeZone ?? s.zone ?? 'UTC';
  if (zone === 'Local') {
    return {
      ...base,
      outcome: 'refused',
      detail:
        "Go read this source's DATETIME values in its host's local zone (loc=Local): state that zone (idra migrate --time-zone, e.g. Europe/Rome) so the offset means the same instant",
    };
  }
  const ms = Number(raw);
  // One millisecond earlier, and no tiebreaker: rows sharing the last copied millisecond (the column
  // may hold microseconds; Go stored milliseconds, and read strictly after) are read again, never missed.
  const value = wallClock(ms - 1, zone);
  const why = timeZone ? 'the zone stated' : zone === 'UTC' ? "the zone Go's driver read this source in" : `the zone of the connection string's loc`;
  return {
    ...base,
    outcome: 'converted',
    position: { kind: 'timestamp', value, tiebreaker: null },
    detail: `${raw} ms (${wallClock(ms, zone)} in ${zone}, ${why}) → after '${value}', 1 ms earlier: rows of the last copied millisecond are read again (the destination's key makes that harmless) rather than missed${also}`,
  };
}
