import { createContext, use, useEffect, useState, type ReactNode } from 'react';
import type { ConfigIssue } from '@idra/api-client';
import { Field, type ControlProps } from '../../components/Field.tsx';

interface Placement {
  /** The message of the issue at `path`, once it may be shown (the field was touched, or a save was tried). */
  issue(path: string): string | undefined;
  /** Marks `path` as shown by a field of the form (for as long as the field is there). */
  place(path: string): () => void;
}

/** Provides the placement of `useIssuePlacement` to the fields of the form. */
export const PlacementContext = createContext<Placement | null>(null);

/**
 * The server's issues, each shown under the field that declares its path; the paths no field shows
 * (an option the form does not edit, a field of another mode) are listed apart, so none is lost.
 */
export function useIssuePlacement(issues: readonly ConfigIssue[], shown: (path: string) => boolean) {
  const [placed, setPlaced] = useState<ReadonlyMap<string, number>>(new Map());
  const placement: Placement = {
    issue: (path) => (shown(path) ? issues.find((i) => i.path === path)?.message : undefined),
    place(path) {
      setPlaced((m) => new Map(m).set(path, (m.get(path) ?? 0) + 1));
      return () =>
        setPlaced((m) => {
          const next = new Map(m);
          const n = (next.get(path) ?? 1) - 1;
          if (n > 0) next.set(path, n);
          else next.delete(path);
          return next;
        });
    },
  };
  // `a.b.*` places every field right under `a.b` (a group of fields such as a connection's).
  const isPlaced = (path: string) => placed.has(path) || placed.has(`${path.slice(0, path.lastIndexOf('.'))}.*`);
  return { placement, unplaced: issues.filter((i) => !isPlaced(i.path)) };
}

/** Marks `path` (or a group `a.b.*`) as shown while the caller is mounted; returns the lookup of issues by path. */
export function usePlaced(path: string): (path: string) => string | undefined {
  const placement = use(PlacementContext);
  if (!placement) throw new Error('usePlaced outside a sync form');
  const { place } = placement;
  // eslint-disable-next-line react-hooks/exhaustive-deps -- placed once per path; `place` changes every render
  useEffect(() => place(path), [path]);
  return placement.issue;
}

/** The issue at `path` for the field showing it; the field counts as placing that path while it is mounted. */
export function usePlacedIssue(path: string): string | undefined {
  return usePlaced(path)(path);
}

/** A Field whose error is the server's issue at `path`. */
export function PlacedField({
  path,
  ...props
}: {
  path: string;
  label: ReactNode;
  hint?: ReactNode;
  className?: string;
  children: (props: ControlProps) => ReactNode;
}) {
  return <Field {...props} error={usePlacedIssue(path)} />;
}
