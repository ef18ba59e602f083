// The loop of every step function: claim the release, observe the cluster, decide, carry out the
// commands, commit, hand over. A message for an older seq, or one whose release is claimed by a
// running step, changes nothing: Pub/Sub may deliver any message twice, late or out of order.
import { randomUUID } from 'node:crypto';
import { marked } from '../adapters/store.ts';
import { withNamedTemplates } from '../analysis/named.ts';
import { advance, decideStep, endFor, type Observation } from '../engine/decide.ts';
import { isTerminal, type Release, type Workload } from '../engine/release.ts';
import { type EngineTarget, strategyOf } from '../engine/target.ts';
import { retriability } from '../errors.ts';
import type { Cluster } from '../kubernetes/types.ts';
import type { StepMessage } from '../messages.ts';
import { TargetStore } from '../target/store.ts';
import type { Deps } from './deps.ts';
import { announce, recordClusterEvents } from './events.ts';
import { execute } from './execute.ts';
import { cleanUpFinishedRuns, runningRuns, takeMeasurements } from './measure.ts';
import { noteRelease } from './metrics.ts';
import { observeRoute, routingFor } from './routing.ts';
import { dispatchWake, planWake } from './wake.ts';

export type StepResult = 'done' | 'stale' | 'busy' | 'unchanged';

export async function runStep(d: Deps, msg: StepMessage): Promise<StepResult> {
  const log = d.log.with({ releaseId: msg.releaseId, target: msg.target, step: msg.step, seq: msg.seq });
  noteRelease(msg.releaseId);
  const claimed = await claim(d, msg);
  if (typeof claimed === 'string') {
    log.info(`step ${msg.step} skipped: ${claimed}`);
    return claimed;
  }
  const { release } = claimed;
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
      await unclaim(d, release);
      return 'unchanged';
    }
    let next = decision.release;
    let nextWorkload = decision.workload;
    try {
      // The release as decided knows its revisions (a canary's router needs them from the first command on).
      const commandRouting = routing ?? routingFor(target, decision.release, kubeConfig);
      for (const command of decision.commands) await execute(cluster, target, command, commandRouting);
    } catch (err) {
      if (retriability(err) === 'retry') throw err;
      ({ release: next, workload: nextWorkload } = failure(release, workload, err, d.now()));
    }
    next = planWake(d, next);
    const committed = await commit(d, release, next, nextWorkload);
    if (!committed) {
      log.warn('step lost its claim before committing; a newer step owns the release');
      return 'stale';
    }
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
    await unclaim(d, release).catch(() => undefined);
    log.error(
      `step ${msg.step} failed, will be retried: ${err instanceof Error ? err.message : String(err)}`,
    );
    throw err;
  }
}

/** A command the cluster refused: back to blue if green exists, else the release fails; either way with the reason. */
function failure(
  release: Release,
  workload: Workload,
  err: unknown,
  now: number,
): { release: Release; workload: Workload } {
  const reason = `Kubernetes refused: ${err instanceof Error ? err.message : String(err)}`;
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
    const target = await d.store.target(release.target, tx);
    if (!target) {
      // The target was deleted while the release ran: end it with the reason, touch nothing.
      ended = advance(release, now, {
        phase: 'Failed',
        reason: `target ${release.target} no longer exists`,
      });
      tx.set(d.store.releaseRef(release.id), marked(ended));
      return 'stale' as const;
    }
    // One owner per invocation: two deliveries in the same process must not both think they hold it.
    const lease = { owner: `${d.owner}/${randomUUID().slice(0, 8)}`, until: now + d.leaseMs };
    tx.update(d.store.releaseRef(release.id), { lease });
    return { release: { ...release, lease }, target };
  });
  if (ended) await announce(d, ended);
  return claimed;
}

async function unclaim(d: Deps, release: Release): Promise<void> {
  await d.store.transaction(async (tx) => {
    const current = await d.store.release(release.id, tx);
    if (current && current.seq === release.seq && current.lease?.owner === release.lease?.owner) {
      tx.update(d.store.releaseRef(release.id), { lease: null });
    }
  });
}

/** Writes the decision if the release is still at the seq this step claimed. */
async function commit(d: Deps, claimed: Release, next: Release, workload: Workload): Promise<boolean> {
  return d.store.transaction(async (tx) => {
    const current = await d.store.release(claimed.id, tx);
    if (!current || current.seq !== claimed.seq || current.lease?.owner !== claimed.lease?.owner)
      return false;
    tx.set(d.store.releaseRef(next.id), marked(next));
    tx.set(d.store.workloadRef(workload.target), workload);
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
