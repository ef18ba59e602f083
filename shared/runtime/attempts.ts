// Failed attempts of a release, counted in a row across its steps: an attempt that fails gives
// the claim back with the count one higher (lease.ts unclaim()); a step that commits normally
// resets it. After maxAttempts in a row the release ends instead (engine/failure.ts).
import type { Release } from '../engine/release.ts';

/** Failed attempts of the release in a row (any step; a step that commits normally resets it). */
export function attemptsOf(release: Release): number {
  return release.attempts?.count ?? 0;
}

export const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Marks `err` with the commands its pass ran before the one that threw: they changed the cluster,
 * so the release's history records them whatever becomes of the pass (retried, ended, refused).
 */
export function withRan(err: unknown, ran: string[]): unknown {
  if (ran.length > 0 && typeof err === 'object' && err !== null) Object.assign(err, { ranBefore: ran });
  return err;
}

/** The commands a failed pass ran before `err` (see withRan); [] when none. */
export function ranBefore(err: unknown): string[] {
  const ran = (err as { ranBefore?: unknown } | null)?.ranBefore;
  return Array.isArray(ran) ? ran.filter((c): c is string => typeof c === 'string') : [];
}
