// The loop of every step function: take the release (claim it, or only look when the step may
// write nothing), observe the cluster, decide, then execute the commands and commit the decision
// under the lease, and hand over. A message for an older seq, or one whose release is claimed by a
// running step, changes nothing: Pub/Sub may deliver any message twice, late or out of order.
// The lease and the writes under it: lease.ts; looking without a claim: look.ts; what a step
// reads: observe.ts; what a failure makes of the release: failure.ts.

import { describeCommand } from '../engine/commands.ts';
import { decide } from '../engine/decide.ts';
import type { Decision } from '../engine/kernel.ts';
import { quietly } from '../engine/quiet.ts';
import type { Release, Workload } from '../engine/release.ts';
import type { EngineTarget } from '../engine/target.ts';
import type { Logger } from '../log.ts';
import type { StepMessage } from '../messages.ts';
import { withRan } from './attempts.ts';
import type { Deps } from './deps.ts';
import { announce, recordClusterEvents } from './events.ts';
import { execute } from './execute.ts';
import { commandFailed, failStep } from './failure.ts';
import { crashPoint } from './faults.ts';
import { claim, commit, fence, renew, unclaim } from './lease.ts';
import { look } from './look.ts';
import { cleanUpFinishedRuns, runningRuns } from './measure.ts';
import { noteRelease } from './metrics.ts';
import { type Seen, see } from './observe.ts';
import { routingFor } from './routing.ts';
import { dispatchWake, planWake } from './wake.ts';

export type StepResult = 'done' | 'stale' | 'busy' | 'unchanged';

/** The release as the step holds it now (claimed late, its lease renewed): what a failure ends or gives back. */
interface Held {
  release: Release;
}

export async function runStep(d: Deps, msg: StepMessage): Promise<StepResult> {
  const log = d.log.with({ releaseId: msg.releaseId, target: msg.target, step: msg.step, seq: msg.seq });
  noteRelease(msg.releaseId);
  // A step that will only look (no analysis to measure) reads without a claim; it claims the
  // release only once its decision has something to write (see quietly()).
  const looked = await look(d, msg);
  const claimed = looked ?? (await claim(d, msg));
  if (typeof claimed === 'string') {
    log.info(`step ${msg.step} skipped: ${claimed}`);
    return claimed;
  }
  const held: Held = { release: claimed.release };
  try {
    return await step(d, msg, claimed.target, held, log);
  } catch (err) {
    return failStep(d, msg, held.release, claimed.target, err, log);
  }
}

/** Observes and decides; writes nothing when nothing changed, else claims (if it only looked) and writes. */
async function step(
  d: Deps,
  msg: StepMessage,
  stored: EngineTarget,
  held: Held,
  log: Logger,
): Promise<StepResult> {
  const seen = await see(d, stored, held.release);
  const input = { type: 'step' as const, step: msg.step, observation: seen.observation };
  const decision = decide(seen.target, held.release, seen.workload, input, d.now());
  if (decision.release === held.release) {
    if (held.release.lease) await unclaim(d, held.release);
    return 'unchanged';
  }
  if (!held.release.lease) {
    // Nothing new seen: no write at all; the next look is handed over with the same seq.
    if (quietly(held.release, seen.workload, decision)) {
      const planned = planWake(d, decision.release);
      const seq = held.release.seq;
      await dispatchWake(d, { ...planned, seq, wake: { ...planned.wake!, seq } });
      return 'unchanged';
    }
    const taken = await claim(d, msg);
    if (typeof taken === 'string') {
      log.info(`step ${msg.step} skipped: ${taken}`);
      return taken;
    }
    held.release = taken.release;
  }
  return executeThenCommit(d, seen, decision, held, log);
}

/**
 * Executes the decision's commands under the lease (renewed first once half of it is gone, every
 * write fenced), then commits the decision, or what a command that threw made of it, while the
 * lease is still this step's, then hands over.
 */
async function executeThenCommit(
  d: Deps,
  seen: Seen,
  decision: Decision,
  held: Held,
  log: Logger,
): Promise<StepResult> {
  const release = held.release;
  let lease = release.lease!;
  if (decision.commands.length > 0) {
    // Writes only under a lease with time to spare: renewed once it is half gone, or given up.
    const renewed = await renew(d, release, lease);
    if (!renewed) {
      log.warn('step lost its claim before writing to the cluster; a newer step owns the release');
      return 'stale';
    }
    lease = renewed;
  }
  const outcome = await executeAll(d, seen, decision, release, lease);
  crashPoint('after-write', release);
  const next = nextRelease(d, release, outcome.release, decision.commands.length);
  held.release = { ...release, lease };
  const committed = await commit(d, held.release, next, seen.workload, outcome.workload);
  if (!committed) {
    log.warn('step lost its claim before committing; a newer step owns the release');
    return 'stale';
  }
  crashPoint('after-commit', held.release);
  log.info(`${release.phase} -> ${next.phase}${next.reason ? `: ${next.reason}` : ''}`, {
    phase: next.phase,
    commands: decision.commands.length,
  });
  await handOver(d, seen, held.release, next);
  return 'done';
}

/** Carries out the commands in order, each behind the fence; a command that threw: see commandFailed(). */
async function executeAll(
  d: Deps,
  seen: Seen,
  decision: Decision,
  release: Release,
  lease: { until: number },
): Promise<{ release: Release; workload: Workload }> {
  const ran: string[] = [];
  try {
    // The release as decided knows its revisions (a canary's router needs them from the first command on).
    const commandRouting = seen.routing ?? routingFor(seen.target, decision.release, seen.kubeConfig);
    for (const command of decision.commands) {
      fence(d, lease);
      await execute(seen.cluster, seen.target, command, commandRouting);
      ran.push(describeCommand(command));
    }
  } catch (err) {
    return commandFailed(d, seen.target, release, seen.workload, withRan(err, ran));
  }
  return { release: { ...decision.release, attempts: null }, workload: decision.workload };
}

/** The release to commit: the lease given back, the next wake-up planned. */
function nextRelease(d: Deps, release: Release, decided: Release, commands: number): Release {
  let next = planWake(d, { ...decided, lease: null });
  // Waiting looks of the same phase that see nothing new write nothing until this horizon; the
  // sweep counts the wake-up as owned by a function until then.
  if (next.wake?.inline && next.phase === release.phase && commands === 0) {
    next = { ...next, wake: { ...next.wake, pollUntil: d.now() + d.inlineWaitMs } };
  }
  return next;
}

/** After the commit: the release's events, the cluster's events, finished analysis runs, the next wake-up. */
async function handOver(d: Deps, seen: Seen, release: Release, next: Release): Promise<void> {
  await announce(d, next);
  await recordClusterEvents(d, seen.cluster, seen.target, release, next);
  if (runningRuns(release).length > runningRuns(next).length)
    await cleanUpFinishedRuns(seen.target, next, seen.kubeConfig, d.now);
  await dispatchWake(d, next);
}
