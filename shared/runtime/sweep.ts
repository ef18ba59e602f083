// The minute sweep (Cloud Scheduler -> sweep topic): fires wake-ups due before the next sweep,
// and re-publishes those whose function died (overdue, claim expired). With nothing in flight it reads
// one query and ends.
import type { Deps } from './deps.ts';
import { fire } from './wake.ts';

/** How far ahead a sweep takes wake-ups (a little more than the scheduler's period). */
export const sweepLookaheadMs = 65_000;
/** A wake-up owned by a waiting function counts as lost once it is this late. */
export const overdueMs = 3_000;

export interface SweepResult {
  fired: number;
  recovered: number;
}

export async function runSweep(d: Deps, lookaheadMs = sweepLookaheadMs): Promise<SweepResult> {
  const now = d.now();
  const due = await d.store.wakesDue(now + lookaheadMs);
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
