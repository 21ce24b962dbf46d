import { readFile } from 'node:fs/promises';
import { ConfigError, importGoIdra, isGoIdraFormat, parseConfigFile, refusedIssues, type GoSyncReport, type Position, type Sync } from '@idra/core';
import { CONNECTOR_SPECS } from '@idra/connectors';

/** A parsed single-mode configuration: runnable syncs, plus start offsets from a Go Idra export. */
export interface LoadedConfig {
  syncs: Sync[];
  /** Positions to seed for syncs that have no offset yet (a Go Idra `start_offset`). */
  startOffsets: Map<string, Position>;
  /** A Go Idra export: what became of each of its syncs and fields (empty for Idra's own formats). */
  goReport: GoSyncReport[];
}

/**
 * Reads a syncs file (Idra's `{dataSources, syncs}`, a bare array of syncs, or a Go Idra export, refused whole if any sync
 * cannot be imported faithfully), checked against the connectors' contracts.
 */
export async function loadConfigFile(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '--config', message: `cannot read ${path}: ${(err as Error).message}` }], 'invalid configuration');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([{ path: '', message: `${path} is not valid JSON: ${(err as Error).message}` }], 'invalid configuration');
  }
  const startOffsets = new Map<string, Position>();
  let goReport: GoSyncReport[] = [];
  if (isGoIdraFormat(doc)) {
    const imported = importGoIdra(doc);
    goReport = imported.map((s) => s.report);
    const refused = refusedIssues(imported);
    if (refused) throw refused;
    for (const s of imported) if (s.seed && s.config) startOffsets.set(s.config.id, s.seed);
    doc = { syncs: imported.map((s) => s.config) };
  } else if (Array.isArray(doc)) {
    doc = { syncs: doc };
  }
  return { syncs: parseConfigFile(doc, CONNECTOR_SPECS).syncs, startOffsets, goReport };
}
