// Steps claim a release with a lease while they observe, decide and write to the cluster. Anything
// else that changes a release (a control command, a push that supersedes it) waits for that claim
// to be given back or to lapse instead of overtaking the step: a step that has decided "switch"
// must not write after an abort has ended the release.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Release } from '../engine/release.ts';
import type { Deps } from './deps.ts';

/** What a transaction answers when a release it would change is claimed by a running step. */
export interface Claimed {
  claimedUntil: number;
}

/** The earliest lease end among the releases claimed now, or null when none is. */
export function claimed(releases: (Release | null | undefined)[], now: number): Claimed | null {
  const until = releases.flatMap((r) => (r?.lease && r.lease.until > now ? [r.lease.until] : []));
  return until.length > 0 ? { claimedUntil: Math.min(...until) } : null;
}

/**
 * Runs `attempt` (one transaction) until it answers something other than Claimed, waiting for the
 * claim in between; after a lease's length it gives up with a retriable error (Pub/Sub redelivers).
 */
export async function outsideClaims<T>(
  d: Deps,
  what: string,
  attempt: () => Promise<T | Claimed>,
): Promise<T> {
  const giveUpAt = d.now() + d.leaseMs + 1000;
  for (;;) {
    const result = await attempt();
    if (!isClaimed(result)) return result;
    if (d.now() >= giveUpAt) {
      throw Object.assign(new Error(`${what}: the release is still claimed by a running step`), {
        kind: 'unavailable' as const,
      });
    }
    await sleep(Math.max(20, Math.min(200, result.claimedUntil - d.now())));
  }
}

function isClaimed(x: unknown): x is Claimed {
  return typeof x === 'object' && x !== null && 'claimedUntil' in x;
}
