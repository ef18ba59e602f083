// The loop of every step function: claim the release, observe the cluster, decide, carry out the
// commands, commit, hand over. A message for an older seq, or one whose release is claimed by a
// running step, changes nothing: Pub/Sub may deliver any message twice, late or out of order.
import { randomUUID } from 'node:crypto';
import { marked, toEngineTarget } from '../adapters/store.ts';
import { withNamedTemplates } from '../analysis/named.ts';
import { decideStep } from '../engine/decide.ts';
import { advance, endFor, type Observation } from '../engine/kernel.ts';
import { isTerminal, type Release, type Workload } from '../engine/release.ts';
import { type EngineTarget, strategyOf } from '../engine/target.ts';
import { errorKind, retriability } from '../errors.ts';
import { defaultRequestTimeoutMs } from '../kubernetes/cluster.ts';
import { canonicalJson } from '../kubernetes/revision.ts';
import type { Cluster } from '../kubernetes/types.ts';
import type { StepMessage } from '../messages.ts';
import { readTarget, TargetStore } from '../target/store.ts';
import type { Deps } from './deps.ts';
import { announce, recordClusterEvents } from './events.ts';
import { execute } from './execute.ts';
import { crashPoint } from './faults.ts';
import { cleanUpFinishedRuns, runningRuns, takeMeasurements } from './measure.ts';
import { noteRelease } from './metrics.ts';
import { observeRoute, routingFor } from './routing.ts';
import { dispatchWake, planWake } from './wake.ts';

export type StepResult = 'done' | 'stale' | 'busy' | 'unchanged';

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
  let { release } = claimed;
  try {
    // Named analysis templates (applied apart from the target) join the target's own.
    const target = await withNamedTemplates(claimed.target, (names) =>
      new TargetStore(d.db).templates(names),
    );
    const workload = await d.store.workload(release.target);
    const cluster = await d.clusterFor(target);
    const kubeConfig = await d.kubeConfigFor(target);
    const observation = await observe(cluster, target);
    const routing = routingFor(target, release, kubeConfig);
    const route = await observeRoute(routing);
    if (route) observation.route = route;
    const measurements = await takeMeasurements(target, release, kubeConfig, d.now);
    if (measurements) observation.measurements = measurements;
    const now = d.now();
    const decision = decideStep(
      target,
      release,
      workload,
      { type: 'step', step: msg.step, observation },
      now,
    );
    if (decision.release === release) {
      if (release.lease) await unclaim(d, release);
      return 'unchanged';
    }
    if (!release.lease) {
      // Nothing new seen: no write at all; the next look is handed over with the same seq.
      if (quietly(release, workload, decision)) {
        const planned = planWake(d, decision.release);
        await dispatchWake(d, { ...planned, seq: release.seq, wake: { ...planned.wake!, seq: release.seq } });
        return 'unchanged';
      }
      const taken = await claim(d, msg);
      if (typeof taken === 'string') {
        log.info(`step ${msg.step} skipped: ${taken}`);
        return taken;
      }
      release = taken.release;
    }
    let next: Release = { ...decision.release, attempts: null };
    let nextWorkload = decision.workload;
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
    try {
      // The release as decided knows its revisions (a canary's router needs them from the first command on).
      const commandRouting = routing ?? routingFor(target, decision.release, kubeConfig);
      for (const command of decision.commands) {
        fence(d, lease);
        await execute(cluster, target, command, commandRouting);
      }
    } catch (err) {
      if (errorKind(err) === 'fenced') throw err;
      if (errorKind(err) === 'in-use') {
        ({ release: next, workload: nextWorkload } = refused(release, workload, err, d.now()));
      } else if (retriability(err) === 'retry') {
        if (attemptsOf(release) + 1 < maxAttempts) throw err;
        ({ release: next, workload: nextWorkload } = failure(release, workload, err, d.now(), true));
      } else {
        ({ release: next, workload: nextWorkload } = failure(release, workload, err, d.now()));
      }
    }
    crashPoint('after-write', release);
    next = planWake(d, { ...next, lease: null });
    // Waiting looks of the same phase that see nothing new write nothing until this horizon; the
    // sweep counts the wake-up as owned by a function until then.
    if (next.wake?.inline && next.phase === release.phase && decision.commands.length === 0) {
      next = { ...next, wake: { ...next.wake, pollUntil: d.now() + d.inlineWaitMs } };
    }
    release = { ...release, lease };
    const committed = await commit(d, release, next, workload, nextWorkload);
    if (!committed) {
      log.warn('step lost its claim before committing; a newer step owns the release');
      return 'stale';
    }
    crashPoint('after-commit', release);
    log.info(`${release.phase} -> ${next.phase}${next.reason ? `: ${next.reason}` : ''}`, {
      phase: next.phase,
      commands: decision.commands.length,
    });
    await announce(d, next);
    await recordClusterEvents(d, cluster, target, release, next);
    if (runningRuns(release).length > runningRuns(next).length)
      await cleanUpFinishedRuns(target, next, kubeConfig, d.now);
    await dispatchWake(d, next);
    return 'done';
  } catch (err) {
    // An error that trying again cannot mend (an unknown context, a refusal while observing), one
    // that has come back maxAttempts times, or a cluster unreachable past the progress deadline
    // ends the release with the reason instead of leaving it to be retried for good.
    const now = d.now();
    const overdue = now >= release.phaseSince + claimed.target.spec.progressDeadlineSeconds * 1000;
    const endIt =
      release.lease !== null &&
      errorKind(err) !== 'fenced' &&
      (retriability(err) === 'final' || attemptsOf(release) + 1 >= maxAttempts || overdue);
    if (endIt && (await endWithError(d, release, err, now, overdue))) {
      log.warn(`step ${msg.step} ended the release: ${messageOf(err)}`);
      return 'done';
    }
    await unclaim(d, release, err).catch(() => undefined);
    log.error(
      `step ${msg.step} failed, will be retried: ${err instanceof Error ? err.message : String(err)}`,
    );
    throw err;
  }
}

/** Commits the end of a release that hit `err` (see failure()); false when the claim was lost. */
async function endWithError(d: Deps, release: Release, err: unknown, now: number, overdue: boolean) {
  const workload = await d.store.workload(release.target);
  const exhausted = retriability(err) === 'retry';
  const ended = failure(release, workload, err, now, exhausted && !overdue);
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

/** Consecutive failed attempts after which a release stops being retried and ends Failed. */
export const maxAttempts = 10;

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Failed attempts of the release in a row (any step; a step that commits normally resets it). */
function attemptsOf(release: Release): number {
  return release.attempts?.count ?? 0;
}

/**
 * The serving guard refused a scale-down or delete the decision asked for: the refusal goes into
 * the history, nothing else changes, and the step looks again after a pause (the cluster is not
 * as the decision saw it). After maxAttempts refusals in a row an active release ends Failed with
 * the reason; a cleanup is dropped (the revision stays, the sweep's GC may remove it later).
 */
function refused(
  release: Release,
  workload: Workload,
  err: unknown,
  now: number,
): { release: Release; workload: Workload } {
  const reason = `refused by the serving guard: ${messageOf(err)}`;
  const count = attemptsOf(release) + 1;
  const attempts = { count, error: reason };
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
      patch: { attempts },
    }),
    workload,
  };
}

/** A command the cluster refused: back to blue if green exists, else the release fails; either way with the reason. */
function failure(
  release: Release,
  workload: Workload,
  err: unknown,
  now: number,
  exhausted = false,
): { release: Release; workload: Workload } {
  const reason = exhausted
    ? `gave up after ${attemptsOf(release) + 1} attempts: ${messageOf(err)}`
    : `Kubernetes refused: ${messageOf(err)}`;
  if (isTerminal(release.phase)) {
    return {
      release: advance(release, now, { reason, cause: 'cleanup', patch: { cleanup: null } }),
      workload,
    };
  }
  if (release.green && release.blue && release.phase !== 'RollingBack' && !isTerminal(release.phase)) {
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

/** The validation problems of a stored target, as one line, or null when it is valid. */
function storedTargetProblems(name: string, data: FirebaseFirestore.DocumentData): string | null {
  const read = readTarget(name, data);
  if (!('errors' in read)) return null;
  return read.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
}

/**
 * Whether a decision made without a claim saw nothing new: no commands, no change of the release
 * beyond its seq, time stamps and next wake-up, and that wake-up inside the horizon the last commit
 * set (wake.pollUntil). Then the step writes nothing and hands over the next look itself.
 */
function quietly(
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

/**
 * Reads the release for a step that will only look at the cluster: no claim is written. Null when
 * the step must claim first (analysis to measure, a claim held, a target to check) — claim() then
 * decides; 'stale' for an older seq.
 */
async function look(
  d: Deps,
  msg: StepMessage,
): Promise<{ release: Release; target: EngineTarget } | 'stale' | null> {
  const release = await d.store.release(msg.releaseId);
  if (!release) return null;
  if (release.seq !== msg.seq) return 'stale';
  if (
    (release.attempts?.count ?? 0) > 0 ||
    (release.lease && release.lease.until > d.now()) ||
    runningRuns(release).length > 0 ||
    !release.wake?.pollUntil
  )
    return null;
  const stored = await d.store.db.doc(d.store.targetRef(release.target).path).get();
  if (!stored.exists || storedTargetProblems(release.target, stored.data()!)) return null;
  return { release: { ...release, lease: null }, target: toEngineTarget(release.target, stored.data()!) };
}

/** Takes the release for this step in a transaction, unless the message is stale or another step holds it. */
async function claim(
  d: Deps,
  msg: StepMessage,
): Promise<{ release: Release; target: EngineTarget } | 'stale' | 'busy'> {
  let ended: Release | null = null;
  const claimed = await d.store.transaction(async (tx) => {
    ended = null;
    const release = await d.store.release(msg.releaseId, tx);
    if (!release || release.seq !== msg.seq) return 'stale' as const;
    const now = d.now();
    if (release.lease && release.lease.until > now) return 'busy' as const;
    const stored = await tx.get(d.store.targetRef(release.target));
    const problems = stored.exists ? storedTargetProblems(release.target, stored.data()!) : null;
    if (!stored.exists || problems) {
      // The target was deleted, or no longer validates (edited outside apply, or a schema it was
      // stored under no longer holds): end the release with the reason, touch nothing.
      const reason = stored.exists
        ? `target ${release.target} no longer validates: ${problems}; fix it and apply it again, then retry`
        : `target ${release.target} no longer exists`;
      // An ended release keeps its phase; only its pending cleanup is dropped.
      ended = isTerminal(release.phase)
        ? advance(release, now, {
            reason: `cleanup dropped: ${reason}`,
            cause: 'cleanup',
            patch: { cleanup: null },
          })
        : advance(release, now, { phase: 'Failed', reason });
      tx.set(d.store.releaseRef(release.id), marked(ended));
      return 'stale' as const;
    }
    const target = toEngineTarget(release.target, stored.data()!);
    // One owner per invocation: two deliveries in the same process must not both think they hold it.
    const lease = { owner: `${d.owner}/${randomUUID().slice(0, 8)}`, until: now + d.leaseMs };
    tx.update(d.store.releaseRef(release.id), { lease });
    return { release: { ...release, lease }, target };
  });
  if (ended) await announce(d, ended);
  return claimed;
}

/** Gives the claim back; after a failed attempt also counts it (see maxAttempts). */
async function unclaim(d: Deps, release: Release, err?: unknown): Promise<void> {
  await d.store.transaction(async (tx) => {
    const current = await d.store.release(release.id, tx);
    if (current && current.seq === release.seq && current.lease?.owner === release.lease?.owner) {
      const failed = err !== undefined && errorKind(err) !== 'fenced';
      tx.update(d.store.releaseRef(release.id), {
        lease: null,
        ...(failed
          ? { attempts: { count: attemptsOf(current) + 1, error: messageOf(err).slice(0, 500) } }
          : {}),
      });
    }
  });
}

/**
 * The fence of a step's cluster writes: a write starts only while the lease has more than
 * fenceMarginMs left, which is longer than the Kubernetes client's request timeout, so no write
 * of this step can land after the lease has passed to someone else (a control command, the
 * sweep's redelivery). Throws 'fenced' otherwise: the step stops and commits nothing.
 */
function fence(d: Deps, lease: { until: number }): void {
  if (d.now() > lease.until - fenceMarginMs(d)) {
    throw Object.assign(new Error('the step ran out of its lease; it writes nothing more'), {
      kind: 'fenced' as const,
    });
  }
}

const fenceMarginMs = (d: Deps) => Math.min(d.leaseMs / 2, 3 * defaultRequestTimeoutMs);

/** Extends the lease when less than half of it is left; null when it is no longer this step's. */
async function renew(d: Deps, release: Release, lease: { owner: string; until: number }) {
  if (lease.until - d.now() > d.leaseMs / 2) return lease;
  return d.store.transaction(async (tx) => {
    const current = await d.store.release(release.id, tx);
    if (!current || current.seq !== release.seq || current.lease?.owner !== lease.owner) return null;
    const next = { owner: lease.owner, until: d.now() + d.leaseMs };
    tx.update(d.store.releaseRef(release.id), { lease: next });
    return next;
  });
}

/**
 * Writes the decision if the release is still at the seq this step claimed. The workload record is
 * written only when the decision changed it, and only if nobody else changed it since the step read
 * it (a push or a control command in between): otherwise the step commits nothing ("stale"); its
 * cluster writes are idempotent and the next step sees them.
 */
async function commit(
  d: Deps,
  claimed: Release,
  next: Release,
  read: Workload,
  workload: Workload,
): Promise<boolean> {
  return d.store.transaction(async (tx) => {
    const current = await d.store.release(claimed.id, tx);
    if (!current || current.seq !== claimed.seq || current.lease?.owner !== claimed.lease?.owner)
      return false;
    const changed = canonicalJson(workload) !== canonicalJson(read);
    if (changed && canonicalJson(await d.store.workload(workload.target, tx)) !== canonicalJson(read))
      return false;
    tx.set(d.store.releaseRef(next.id), marked(next));
    if (changed) tx.set(d.store.workloadRef(workload.target), workload);
    return true;
  });
}

/** Reads what the decision needs: the workload's objects and the Services' endpoints. */
async function observe(cluster: Cluster, target: EngineTarget): Promise<Observation> {
  const bg = strategyOf(target);
  const services = [bg.activeService, ...(bg.previewService ? [bg.previewService] : [])];
  const { namespace, workload: name } = target.spec;
  const snapshot = await cluster.snapshot(namespace, name, services);
  const endpoints: Observation['endpoints'] = {};
  for (const service of services) {
    if (snapshot.services[service]) endpoints[service] = await cluster.endpoints(namespace, service);
  }
  return { snapshot, endpoints };
}
