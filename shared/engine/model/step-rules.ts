// The rules of runtime/ (step.ts, lease.ts, failure.ts, look.ts, control.ts) that a step follows and that the runtime does
// not export, mirrored one-for-one: the fences on a step's writes and on control messages, what a
// refused or failed command does to the release, and when a look writes nothing.
import { canonicalJson } from '../../kubernetes/revision.ts';
import { advance, endFor } from '../kernel.ts';
import { isTerminal } from '../phase.ts';
import type { Release, Workload } from '../release.ts';
import { timing } from './scenario.ts';
import { fmtTime } from './trace.ts';

/** step.ts fenceMarginMs: min(leaseMs / 2, 3 × the Kubernetes client's 5 s request timeout). */
const fenceMarginMs = (leaseMs: number) => Math.min(leaseMs / 2, 3 * 5_000);
/** step.ts maxAttempts. */
export const maxAttempts = 10;

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

/**
 * runtime/failure.ts refused(), which is not exported: the serving guard refused a write;
 * the refusal goes into the history and the step looks again after a pause, up to maxAttempts.
 */
export function refused(
  release: Release,
  workload: Workload,
  err: unknown,
  now: number,
): { release: Release; workload: Workload } {
  const reason = `refused by the serving guard: ${err instanceof Error ? err.message : String(err)}`;
  const count = (release.attempts?.count ?? 0) + 1;
  if (isTerminal(release.phase)) {
    return { release: advance(release, now, { reason, cause: 'guard', patch: { cleanup: null } }), workload };
  }
  if (count >= maxAttempts) {
    return {
      release: advance(release, now, {
        phase: 'Failed',
        reason: `gave up after ${count} attempts: ${reason}`,
        cause: 'guard',
      }),
      workload: endFor(workload, release),
    };
  }
  return {
    release: advance(release, now, {
      reason,
      cause: 'guard',
      wakeIn: Math.min(30_000, 1000 * 2 ** count),
      patch: { attempts: { count, error: reason } },
    }),
    workload,
  };
}

/** runtime/failure.ts failure(), which is not exported: a refused command ends or rolls back the release. */
export function failure(
  release: Release,
  workload: Workload,
  err: unknown,
  now: number,
  exhausted = false,
): { release: Release; workload: Workload } {
  const message = err instanceof Error ? err.message : String(err);
  const reason = exhausted
    ? `gave up after ${(release.attempts?.count ?? 0) + 1} attempts: ${message}`
    : `Kubernetes refused: ${message}`;
  if (isTerminal(release.phase)) {
    return {
      release: advance(release, now, { reason, cause: 'cleanup', patch: { cleanup: null } }),
      workload,
    };
  }
  if (release.candidate && release.stable && release.phase !== 'RollingBack') {
    return {
      release: advance(release, now, {
        phase: 'RollingBack',
        reason,
        wakeIn: 0,
        patch: { rollbackOutcome: 'RolledBack' },
      }),
      workload,
    };
  }
  return { release: advance(release, now, { phase: 'Failed', reason }), workload: endFor(workload, release) };
}

/**
 * runtime/look.ts quietly(), which is not exported: a decision made without a claim saw nothing new
 * (no commands, no change but seq, time stamps and wake, the workload record unchanged, the next
 * wake-up of the same step inside the stored pollUntil horizon): the step writes nothing.
 */
export function quietly(
  release: Release,
  workload: Workload,
  decision: { release: Release; commands: unknown[]; workload: Workload },
): boolean {
  if (canonicalJson(workload) !== canonicalJson(decision.workload)) return false;
  const next = decision.release;
  if (decision.commands.length > 0 || !next.wake) return false;
  const horizon = release.wake?.pollUntil;
  if (!horizon || next.wake.at > horizon || next.wake.step !== release.wake?.step) return false;
  const plain = (r: Release) => canonicalJson({ ...r, seq: 0, updatedAt: 0, wake: null, lease: null });
  return plain(release) === plain(next);
}
