// What a command that failed makes of the release, the one place that chooses between looking
// again, going back to stable and ending Failed. The runtime classifies the error (a refusal of
// the serving guard, a refusal of Kubernetes that retrying cannot mend, a retriable error that came
// back maxAttempts times in a row); this decides. Pure.
import { advance, endFor } from './kernel.ts';
import { isTerminal } from './phase.ts';
import type { Release, Workload } from './release.ts';

/** Consecutive failed attempts after which a release stops being retried and ends. */
export const maxAttempts = 10;

/** A command of a pass that failed, as the runtime classified it. */
export interface CommandFailure {
  /**
   * guard: the serving guard refused a scale-down or delete (the cluster is not as the decision
   * saw it); refused: Kubernetes refused the write; exhausted: a retriable error, tried maxAttempts
   * times in a row.
   */
  kind: 'guard' | 'refused' | 'exhausted';
  message: string;
  /** Commands the pass ran before the one that failed: they changed the cluster, the history says so. */
  ran: string[];
}

type Outcome = { release: Release; workload: Workload };

/** The release and workload a pass whose command failed commits. */
export function decideCommandFailed(
  release: Release,
  workload: Workload,
  failure: CommandFailure,
  now: number,
): Outcome {
  return failure.kind === 'guard'
    ? guardRefused(release, workload, failure, now)
    : commandRefused(release, workload, failure, now);
}

const attemptsOf = (release: Release) => release.attempts?.count ?? 0;
const ranOf = (failure: CommandFailure) => (failure.ran.length > 0 ? { commands: failure.ran } : {});

/**
 * The refusal goes into the history, nothing else changes, and the step looks again after a pause
 * that doubles each time. After maxAttempts refusals in a row an active release ends Failed with
 * the reason; a cleanup is dropped (the revision stays, the sweep's GC may remove it later).
 */
function guardRefused(release: Release, workload: Workload, failure: CommandFailure, now: number): Outcome {
  const reason = `refused by the serving guard: ${failure.message}`;
  const count = attemptsOf(release) + 1;
  const ran = ranOf(failure);
  if (isTerminal(release.phase)) {
    return {
      release: advance(release, now, { reason, cause: 'guard', patch: { cleanup: null } }, [], ran),
      workload,
    };
  }
  if (count >= maxAttempts) {
    const change = {
      phase: 'Failed',
      reason: `gave up after ${count} attempts: ${reason}`,
      cause: 'guard',
    } as const;
    return { release: advance(release, now, change, [], ran), workload: endFor(workload, release) };
  }
  const wakeIn = Math.min(30_000, 1000 * 2 ** count);
  const change = { reason, cause: 'guard', wakeIn, patch: { attempts: { count, error: reason } } };
  return { release: advance(release, now, change, [], ran), workload };
}

/**
 * A write Kubernetes refused, or one that kept failing: a release whose new revision exists goes
 * back to stable, one without ends Failed, an ended one drops its cleanup; always with the reason.
 */
function commandRefused(release: Release, workload: Workload, failure: CommandFailure, now: number): Outcome {
  const reason =
    failure.kind === 'exhausted'
      ? `gave up after ${attemptsOf(release) + 1} attempts: ${failure.message}`
      : `Kubernetes refused: ${failure.message}`;
  const ran = ranOf(failure);
  if (isTerminal(release.phase)) {
    return {
      release: advance(release, now, { reason, cause: 'cleanup', patch: { cleanup: null } }, [], ran),
      workload,
    };
  }
  if (release.candidate && release.stable && release.phase !== 'RollingBack') {
    const change = {
      phase: 'RollingBack',
      reason,
      wakeIn: 0,
      patch: { rollbackOutcome: 'RolledBack' },
    } as const;
    return { release: advance(release, now, change, [], ran), workload };
  }
  return {
    release: advance(release, now, { phase: 'Failed', reason }, [], ran),
    workload: endFor(workload, release),
  };
}
