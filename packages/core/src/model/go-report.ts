import type { Position } from './position.ts';

/**
 * What became of one field of a Go Idra document:
 * - `mapped`: same meaning in Idra, carried over as it is;
 * - `converted`: carried over in another form (the detail says how, and what differs);
 * - `ignored`: not carried over, with the reason (Go did not use it, or Idra has no need of it);
 * - `refused`: cannot be carried over faithfully; the sync is not imported (the detail says why).
 */
export type FieldOutcome = 'mapped' | 'converted' | 'ignored' | 'refused';

/** One line of an import report. Details never quote a secret (passwords, tokens, connection strings). */
export interface FieldReport {
  /** The Go field, e.g. `source_connector.id` or `destination_connector.attributes.acks`. */
  field: string;
  outcome: FieldOutcome;
  detail: string;
}

/** What became of a Go sync's stored offset (`idra migrate`). */
export interface GoOffsetReport {
  outcome: FieldOutcome | 'none';
  detail: string;
  /** The Go etcd key the offset was read from (without its value when it holds nothing secret-free). */
  goKey?: string | undefined;
  /** The raw Go value. */
  goValue?: string | undefined;
  /** The Idra position it becomes; null: the sync starts from the beginning. */
  position?: Position | null | undefined;
}

/** The report of one Go sync: the Idra sync it becomes, or why it cannot. */
export interface GoSyncReport {
  /** Position in the imported document (0-based). */
  index: number;
  /** The Go sync's `id` ('' when it had none). */
  goId: string;
  /** The Go sync's `sync_name`. */
  name: string;
  /** The Idra sync id (the Go id when it is a valid Idra id). */
  id: string | undefined;
  outcome: 'importable' | 'refused';
  fields: FieldReport[];
  /** Filled by a migration (offsets read from Go Idra's etcd). */
  offset?: GoOffsetReport | undefined;
}

/** Collects the lines of one sync's report. */
export class ReportLines {
  readonly fields: FieldReport[] = [];

  add(field: string, outcome: FieldOutcome, detail: string): void {
    this.fields.push({ field, outcome, detail });
  }

  get refused(): boolean {
    return this.fields.some((f) => f.outcome === 'refused');
  }
}
