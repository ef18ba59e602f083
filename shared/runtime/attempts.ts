// Failed attempts of a release, counted in a row across its steps: an attempt that fails gives
// the claim back with the count one higher (lease.ts unclaim()); a step that commits normally
// resets it. After maxAttempts in a row the release ends instead (failure.ts).
import type { Release } from '../engine/release.ts';

/** Consecutive failed attempts after which a release stops being retried and ends Failed. */
export const maxAttempts = 10;

/** Failed attempts of the release in a row (any step; a step that commits normally resets it). */
export function attemptsOf(release: Release): number {
  return release.attempts?.count ?? 0;
}

export const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
