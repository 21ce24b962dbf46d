import { useSyncExternalStore } from 'react';
import { SampleStore, type Sample } from './samples.ts';

/** The page's sample history (one per page: it outlives screens, so charts keep their past). */
export const samples = new SampleStore();

/** A sync's recent samples; re-renders when any sample arrives. */
export function useSamples(syncId: string): readonly Sample[] {
  useSyncExternalStore(samples.subscribe, samples.snapshot);
  return samples.samples(syncId);
}
