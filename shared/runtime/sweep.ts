// The minute sweep (Cloud Scheduler -> sweep topic): fires wake-ups due before the next sweep,
// re-publishes those whose function died (overdue, claim expired), and removes revisions beyond
// revisionHistoryLimit of workloads whose last release ended, and publishes release events a dead
// function left unpublished. With nothing to do it reads three queries and ends.

import {
  revisionsToRemove,
  revisionsToScaleDown,
  servicesToSettle,
  stableToFullSize,
} from '../engine/cleanup.ts';
import { describeCommand } from '../engine/commands.ts';
import type { Workload } from '../engine/release.ts';
import { type EngineTarget, servicesOf, strategyOf } from '../engine/target.ts';
import type { Deps } from './deps.ts';
import { announcePending } from './events.ts';
import { execute } from './execute.ts';
import { fire } from './wake.ts';

/** A wake-up owned by a waiting function counts as lost once it is this late. */
export const overdueMs = 3_000;

/** Release events left unpublished this long are taken to be orphaned by a dead function. */
export const unpublishedEventsMs = 10_000;

export interface SweepResult {
  fired: number;
  recovered: number;
  removedRevisions: number;
  /** Release events published for functions that died before they could. */
  eventsPublished: number;
}

export async function runSweep(d: Deps): Promise<SweepResult> {
  const [timers, removedRevisions, eventsPublished] = await Promise.all([
    fireTimers(d),
    cleanUp(d),
    announcePending(d, unpublishedEventsMs),
  ]);
  return { ...timers, removedRevisions, eventsPublished };
}

async function fireTimers(d: Deps): Promise<{ fired: number; recovered: number }> {
  const now = d.now();
  const due = await d.store.wakesDue(now + d.sweepLookaheadMs);
  let fired = 0;
  let recovered = 0;
  const firing: Promise<void>[] = [];
  for (const release of due) {
    const wake = release.wake;
    if (!wake) continue;
    if (release.lease && release.lease.until > now) continue; // a step is running
    // Looks handed over without a write keep the wake-up owned until its horizon (step.ts).
    const overdue = Math.max(wake.at, wake.pollUntil ?? 0) < now - overdueMs;
    if (wake.inline && !overdue) continue; // its function waits for it
    if (overdue) recovered += 1;
    else fired += 1;
    d.log.info(overdue ? 'sweep: re-publishing an overdue step' : 'sweep: firing a timer', {
      releaseId: release.id,
      target: release.target,
      step: wake.step,
      dueAt: new Date(wake.at).toISOString(),
    });
    firing.push(fire(d, release, wake));
  }
  await Promise.all(firing);
  return { fired, recovered };
}

/** Workloads cleaned up at once: one stuck cluster or a long queue must not hold up the rest. */
export const cleanUpConcurrency = 8;

async function cleanUp(d: Deps): Promise<number> {
  const queue = (await d.store.workloadsToClean()).filter((w) => !w.inFlight);
  let removed = 0;
  const worker = async () => {
    for (let workload = queue.shift(); workload; workload = queue.shift()) {
      removed += await cleanUpOne(d, workload);
    }
  };
  await Promise.all(Array.from({ length: Math.min(cleanUpConcurrency, queue.length) }, worker));
  return removed;
}

/** Cleans up one workload and marks it clean once done; its failure is logged, and retried next sweep. */
async function cleanUpOne(d: Deps, workload: Workload): Promise<number> {
  const target = await d.store.target(workload.target);
  if (!target) return 0;
  const log = d.log.with({ target: target.name });
  try {
    const outcome = await cleanUpWorkload(d, target, workload, log);
    if (outcome.done) {
      await d.store.transaction(async (tx) => {
        const current = await d.store.workload(workload.target, tx);
        if (current.inFlight === null && current.lastRelease === workload.lastRelease) {
          tx.update(d.store.workloadRef(workload.target), { gcPending: false } satisfies Partial<Workload>);
        }
      });
    }
    return outcome.removed;
  } catch (err) {
    log.warn(`sweep: could not clean up old revisions: ${err instanceof Error ? err.message : String(err)}`);
    return 0;
  }
}

/**
 * One workload at rest, in three moves (engine/cleanup.ts): Services other than the active one back
 * on the stable revision; revisions still running that nothing needs to 0, each through the
 * serving guard; old revisions beyond revisionHistoryLimit removed. Not done (the next sweep goes
 * on) while a Service was moved or a scale-down refused: what they held must drain first.
 */
async function cleanUpWorkload(
  d: Deps,
  target: EngineTarget,
  workload: Workload,
  log: Deps['log'],
): Promise<{ removed: number; done: boolean }> {
  const cluster = await d.clusterFor(target);
  const bg = strategyOf(target);
  const services = servicesOf(target);
  const snapshot = await cluster.snapshot(target.spec.namespace, target.spec.workload, services);
  const releases = await d.store.releasesOf(target.name, 20);
  const last = releases.find((r) => r.id === workload.lastRelease) ?? null;
  const grow = stableToFullSize(workload, snapshot, last);
  for (const command of grow) {
    await execute(cluster, target, command);
    log.info(
      `sweep: ${describeCommand(command)} (at rest, the stable revision at the size ${last!.id} knew)`,
    );
  }
  // Services are settled on the stable revision only once it is back at its full size.
  if (grow.length > 0) return { removed: 0, done: false };
  const settle = servicesToSettle(workload, snapshot, bg.activeService);
  for (const command of settle) {
    await execute(cluster, target, command);
    log.info(`sweep: ${describeCommand(command)} (at rest, every Service selects the stable revision)`);
  }
  const pending = releases
    .map((r) => r.cleanup?.deployment)
    .filter((name): name is string => name !== undefined);
  let refused = 0;
  for (const deployment of revisionsToScaleDown(workload, snapshot, pending)) {
    try {
      await execute(cluster, target, { type: 'ScaleRevision', deployment, replicas: 0 });
      log.info(`sweep: scaled down ${deployment}, which no release or Service uses`);
    } catch (err) {
      refused += 1;
      log.warn(`sweep: not scaling down ${deployment}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (settle.length > 0 || refused > 0) return { removed: 0, done: false };
  const scaled = await cluster.snapshot(target.spec.namespace, target.spec.workload, services);
  let removed = 0;
  for (const deployment of revisionsToRemove(workload, scaled, target.spec.revisionHistoryLimit)) {
    await execute(cluster, target, { type: 'DeleteRevision', deployment });
    log.info(
      `sweep: removed old revision ${deployment} (revisionHistoryLimit ${target.spec.revisionHistoryLimit})`,
    );
    removed += 1;
  }
  return { removed, done: true };
}
