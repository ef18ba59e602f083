// The writing half of a model step: the lease renewed when half gone, one engine command per stage
// under the fence (a refusal by the serving guard retried with backoff, a retriable error
// redelivered, any other ending or rolling back the release), then the commit, stale when seq,
// lease or the workload record changed under it.

import { errorKind, retriability } from '../../errors.ts';
import { canonicalJson } from '../../kubernetes/revision.ts';
import { describeCommand } from '../commands.ts';
import { decideCommandFailed, maxAttempts } from '../failure.ts';
import type { Release, Workload } from '../release.ts';
import { ModelGap } from './cluster-objects.ts';
import { issue } from './invariants.ts';
import { timing } from './scenario.ts';
import type { RunningStep, SystemState } from './state.ts';
import { stepFence } from './step-rules.ts';

export function end(sys: SystemState, step: RunningStep): void {
  sys.steps = sys.steps.filter((s) => s !== step);
}

/** step.ts unclaim(): the claim given back; a failed attempt is also counted. */
export function unclaim(sys: SystemState, step: RunningStep, failed = false): void {
  const cur = sys.releases.get(step.claimed.id);
  if (cur && cur.seq === step.claimed.seq && cur.lease?.owner === step.claimed.lease?.owner) {
    const attempts = failed ? { attempts: { count: (cur.attempts?.count ?? 0) + 1, error: 'failed' } } : {};
    sys.releases.set(cur.id, { ...cur, lease: null, ...attempts });
  }
}

/** Writes only under a lease with time to spare: renewed once it is half gone. */
export function startWriting(sys: SystemState, step: RunningStep): void {
  if (step.commands.length > 0 && !renew(sys, step)) {
    end(sys, step);
    sys.note(`step ${step.n}: lost its claim before writing to the cluster (stale)`);
    return;
  }
  step.stage = step.commands.length ? 'executing' : 'commit';
}

/** step.ts renew(): a lease less than half left is extended; false when no longer ours. */
function renew(sys: SystemState, step: RunningStep): boolean {
  const lease = step.claimed.lease!;
  if (lease.until - sys.now > timing.leaseMs / 2) return true;
  const cur = sys.releases.get(step.claimed.id);
  if (!cur || cur.seq !== step.claimed.seq || cur.lease?.owner !== lease.owner) return false;
  const renewed = { owner: lease.owner, until: sys.now + timing.leaseMs };
  sys.releases.set(cur.id, { ...cur, lease: renewed });
  step.claimed = { ...step.claimed, lease: renewed };
  return true;
}

export function executeOne(sys: SystemState, step: RunningStep): void {
  const fenced = stepFence(step, sys.now);
  if (fenced) {
    end(sys, step);
    // 'fenced' is thrown, the claim given back (not counted), and Pub/Sub redelivers the message.
    unclaim(sys, step);
    sys.publish({ ...step.msg, at: sys.now });
    sys.note(`step ${step.n} fenced: ${fenced}; writes nothing more`);
    return;
  }
  const command = step.commands[step.done]!;
  const unsafeWhenDecided = step.unsafeWhenDecided?.[step.done] ?? null;
  step.done += 1;
  try {
    issue(
      sys,
      command,
      step.ctx,
      `step ${step.n} (${step.claimed.id} ${step.claimed.phase})`,
      unsafeWhenDecided,
    );
  } catch (err) {
    if (err instanceof ModelGap) throw err;
    const message = err instanceof Error ? err.message : String(err);
    const attempts = step.claimed.attempts?.count ?? 0;
    // What ran before this command, as the runtime carries it on the error (withRan).
    const ran = step.commands.slice(0, step.done - 1).map(describeCommand);
    let out: { release: Release; workload: Workload };
    if (errorKind(err) === 'in-use') {
      out = decideCommandFailed(step.claimed, step.inputWorkload!, { kind: 'guard', message, ran }, sys.now);
    } else if (retriability(err) === 'retry' && attempts + 1 < maxAttempts) {
      unclaim(sys, step, true);
      end(sys, step);
      sys.publish({ ...step.msg, at: sys.now });
      sys.note(`step ${step.n}: ${describeCommand(command)} failed (${message}); will be redelivered`);
      return;
    } else {
      const kind = retriability(err) === 'retry' ? 'exhausted' : 'refused';
      out = decideCommandFailed(step.claimed, step.inputWorkload!, { kind, message, ran }, sys.now);
    }
    step.next = out.release;
    step.nextWorkload = out.workload;
    step.stage = 'commit';
    sys.note(`step ${step.n}: ${describeCommand(command)} refused (${message}) -> ${out.release.phase}`);
    return;
  }
  if (step.done >= step.commands.length) step.stage = 'commit';
}

/**
 * step.ts commit(): the release written if seq and lease owner are unchanged; the workload record
 * only when the decision changed it, and only if nobody changed it since the step read it (else
 * nothing is committed: "stale", the lease left to lapse). Waiting looks of the same phase get the
 * pollUntil horizon, within which looks that see nothing new write nothing.
 */
export function commit(sys: SystemState, step: RunningStep): void {
  let next = sys.planWake({ ...step.next!, lease: null });
  if (next.wake?.inline && next.phase === step.claimed.phase && step.commands.length === 0) {
    next = { ...next, wake: { ...next.wake, pollUntil: sys.now + timing.inlineWaitMs } };
  }
  const cur = sys.releases.get(step.claimed.id);
  if (!cur || cur.seq !== step.claimed.seq || cur.lease?.owner !== step.claimed.lease?.owner) {
    end(sys, step);
    sys.note(`step ${step.n}: lost its claim before committing (stale)`);
    return;
  }
  const read = canonicalJson(step.inputWorkload);
  const changed = canonicalJson(step.nextWorkload) !== read;
  if (changed && canonicalJson(sys.workload) !== read) {
    end(sys, step);
    sys.note(`step ${step.n}: the workload record changed since it was read; commits nothing (stale)`);
    return;
  }
  sys.releases.set(next.id, next);
  if (changed) sys.workload = step.nextWorkload!;
  step.next = next;
  step.stage = 'publish';
  sys.note(`step ${step.n} committed ${next.id} ${next.phase} seq ${next.seq}`);
}
