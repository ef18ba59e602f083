// The minute sweep (Cloud Scheduler -> sweep topic): fires wake-ups due before the next sweep,
// re-publishes those whose function died (overdue, claim expired), and removes revisions beyond
// revisionHistoryLimit of workloads whose last release ended, and publishes release events a dead
// function left unpublished. With nothing to do it reads three queries and ends.

import { revisionsToRemove } from '../engine/cleanup.ts';
import type { Workload } from '../engine/release.ts';
import { strategyOf } from '../engine/target.ts';
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
    const overdue = wake.at < now - overdueMs;
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

async function cleanUp(d: Deps): Promise<number> {
  let removed = 0;
  for (const workload of await d.store.workloadsToClean()) {
    if (workload.inFlight) continue;
    const target = await d.store.target(workload.target);
    if (!target) continue;
    const log = d.log.with({ target: target.name });
    try {
      const cluster = await d.clusterFor(target);
      const bg = strategyOf(target);
      const services = [bg.activeService, ...(bg.previewService ? [bg.previewService] : [])];
      const snapshot = await cluster.snapshot(target.spec.namespace, target.spec.workload, services);
      for (const deployment of revisionsToRemove(workload, snapshot, target.spec.revisionHistoryLimit)) {
        await execute(cluster, target, { type: 'DeleteRevision', deployment });
        log.info(
          `sweep: removed old revision ${deployment} (revisionHistoryLimit ${target.spec.revisionHistoryLimit})`,
        );
        removed += 1;
      }
      await d.store.transaction(async (tx) => {
        const current = await d.store.workload(workload.target, tx);
        if (current.inFlight === null && current.lastRelease === workload.lastRelease) {
          tx.update(d.store.workloadRef(workload.target), { gcPending: false } satisfies Partial<Workload>);
        }
      });
    } catch (err) {
      log.warn(
        `sweep: could not clean up old revisions: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  return removed;
}
