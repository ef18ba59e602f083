// Failure handling of a step. A command the cluster refused is recorded in the release it commits
// (refused(), failure()); an error that ends the step instead either ends the release (final, or
// retried maxAttempts times in a row, or the cluster unreachable past the progress deadline:
// endWithError()) or gives the claim back with the attempt counted and is thrown, for Pub/Sub to
// deliver the step again (failStep()).
import { decide } from '../engine/decide.ts';
import { type CommandFailure, maxAttempts } from '../engine/failure.ts';
import type { Release, Workload } from '../engine/release.ts';
import type { EngineTarget } from '../engine/target.ts';
import { errorKind, retriability } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { StepMessage } from '../messages.ts';
import { attemptsOf, messageOf, ranBefore } from './attempts.ts';
import type { Deps } from './deps.ts';
import { announce } from './events.ts';
import { commit, unclaim } from './lease.ts';
import { dispatchWake, planWake } from './wake.ts';

type Outcome = { release: Release; workload: Workload };

/**
 * What a command that threw makes of the release and workload the step commits: a refusal of the
 * serving guard is recorded and looked at again (refused()); a retriable error is thrown again
 * (the step is delivered again) until it has come back maxAttempts times, then it ends the release
 * like an error that retrying cannot mend (failure()). A fenced step rethrows: it commits nothing.
 */
export function commandFailed(
  d: Deps,
  target: EngineTarget,
  release: Release,
  workload: Workload,
  err: unknown,
): Outcome {
  if (errorKind(err) === 'fenced') throw err;
  if (errorKind(err) === 'in-use') return refused(target, release, workload, err, d.now());
  if (retriability(err) === 'retry') {
    if (attemptsOf(release) + 1 < maxAttempts) throw err;
    return failure(target, release, workload, err, d.now(), true);
  }
  return failure(target, release, workload, err, d.now());
}

/**
 * The end of a step that threw. An error that trying again cannot mend (an unknown context, a
 * refusal while observing), one that has come back maxAttempts times, or a cluster unreachable
 * past the progress deadline ends the release with the reason instead of leaving it to be retried
 * for good ('done'). Any other gives the claim back, counts the attempt and is thrown again.
 * `stored` is the target as the claim read it.
 */
export async function failStep(
  d: Deps,
  msg: StepMessage,
  release: Release,
  stored: EngineTarget,
  err: unknown,
  log: Logger,
): Promise<'done'> {
  const now = d.now();
  const overdue = now >= release.phaseSince + stored.spec.progressDeadlineSeconds * 1000;
  const endIt =
    release.lease !== null &&
    errorKind(err) !== 'fenced' &&
    (retriability(err) === 'final' || attemptsOf(release) + 1 >= maxAttempts || overdue);
  if (endIt && (await endWithError(d, stored, release, err, now, overdue))) {
    log.warn(`step ${msg.step} ended the release: ${messageOf(err)}`);
    return 'done';
  }
  await unclaim(d, release, err).catch(() => undefined);
  log.error(`step ${msg.step} failed, will be retried: ${messageOf(err)}`);
  throw err;
}

/** Commits the end of a release that hit `err` (see failure()); false when the claim was lost. */
async function endWithError(
  d: Deps,
  target: EngineTarget,
  release: Release,
  err: unknown,
  now: number,
  overdue: boolean,
) {
  const workload = await d.store.workload(release.target);
  const exhausted = retriability(err) === 'retry';
  const ended = failure(target, release, workload, err, now, exhausted && !overdue);
  const next =
    overdue && exhausted
      ? {
          ...ended.release,
          reason: `the cluster could not be reached within progressDeadlineSeconds: ${messageOf(err)}`,
        }
      : ended.release;
  const planned = planWake(d, { ...next, lease: null, attempts: null });
  if (!(await commit(d, release, planned, workload, ended.workload))) return false;
  await announce(d, planned);
  await dispatchWake(d, planned);
  return true;
}

/** The serving guard refused a scale-down or delete the decision asked for (engine/failure.ts decides). */
function refused(target: EngineTarget, release: Release, workload: Workload, err: unknown, now: number) {
  return decided(
    target,
    release,
    workload,
    { kind: 'guard', message: messageOf(err), ran: ranBefore(err) },
    now,
  );
}

/** A command the cluster refused, or one that kept failing (`exhausted`): engine/failure.ts decides. */
function failure(
  target: EngineTarget,
  release: Release,
  workload: Workload,
  err: unknown,
  now: number,
  exhausted = false,
): Outcome {
  const kind = exhausted ? 'exhausted' : 'refused';
  return decided(target, release, workload, { kind, message: messageOf(err), ran: ranBefore(err) }, now);
}

function decided(target: EngineTarget, release: Release, workload: Workload, f: CommandFailure, now: number) {
  return decide(target, release, workload, { type: 'command-failed', failure: f }, now);
}
