// The rules of runtime/ (step.ts, lease.ts, control.ts) that a step follows and that the runtime
// does not export, mirrored one-for-one: the fences on a step's writes and on control messages.
// What a refused or failed command does to the release (failure.ts) and when a look writes nothing
// (quiet.ts) are the engine's own, used by the runtime and the model alike.
import type { Release } from '../release.ts';
import { timing } from './scenario.ts';
import { fmtTime } from './trace.ts';

/** step.ts fenceMarginMs: min(leaseMs / 2, 3 × the Kubernetes client's 5 s request timeout). */
const fenceMarginMs = (leaseMs: number) => Math.min(leaseMs / 2, 3 * 5_000);

/**
 * The fence of a step's cluster writes (step.ts fence()): a write starts only while more than
 * fenceMarginMs of the lease is left. The commit is fenced by its transaction alone (seq and lease
 * owner unchanged). Returns why the step must stop writing now, or null.
 */
export function stepFence(step: { claimed: Release }, now: number): string | null {
  const until = step.claimed.lease?.until ?? 0;
  const margin = fenceMarginMs(timing.leaseMs);
  return now <= until - margin
    ? null
    : `less than ${margin / 1000} s of its lease left (until ${fmtTime(until)})`;
}

/**
 * The fence of a control message (runtime/control.ts; claims.ts, which fences pushes the
 * same way over the live releases): it is applied only when no unexpired lease is held on the
 * release it addresses, nor on a live release it may supersede or undo; otherwise it stays queued
 * and is tried again after later events. Returns why it waits, or null.
 */
export function controlFence(addressed: Release | null, live: Release[], now: number): string | null {
  for (const r of [addressed, ...live]) {
    if (r?.lease && r.lease.until > now) return `${r.id} is leased until ${fmtTime(r.lease.until)}`;
  }
  return null;
}
