// The minute sweep of the model runtime (runtime/sweep.ts).
import { revisionsToRemove, revisionsToScaleDown, servicesToSettle, stableToFullSize } from '../cleanup.ts';
import { issue } from './invariants.ts';
import { timing } from './scenario.ts';
import type { SystemState } from './state.ts';

/** sweep.ts runSweep(): fire due wakes whose lease is free, then revision GC. */
export function sweep(sys: SystemState): void {
  const now = sys.now;
  for (const r of sys.releases.values()) {
    const wake = r.wake;
    if (!wake || wake.at > now + timing.sweepLookaheadMs) continue;
    if (r.lease && r.lease.until > now) continue;
    // Looks handed over without a write keep the wake-up owned until its horizon (step.ts).
    const overdue = Math.max(wake.at, wake.pollUntil ?? 0) < now - timing.overdueMs;
    if (wake.inline && !overdue) continue;
    sys.publish({ releaseId: r.id, step: wake.step, seq: wake.seq, at: wake.at });
    sys.note(`sweep fired ${wake.step} ${r.id} seq ${wake.seq}${overdue ? ' (overdue)' : ''}`);
  }
  const w = sys.workload;
  if (!w.gcPending || w.inFlight) return;
  const snapshot = sys.cluster.snapshot(sys.services);
  try {
    const last = w.lastRelease ? (sys.releases.get(w.lastRelease) ?? null) : null;
    const grow = stableToFullSize(w, snapshot, last);
    for (const command of grow) issue(sys, command, null, 'sweep');
    if (grow.length > 0) return;
    const settle = servicesToSettle(w, snapshot, sys.services[0]!);
    for (const command of settle) issue(sys, command, null, 'sweep');
    const pending = [...sys.releases.values()]
      .map((r) => r.cleanup?.deployment)
      .filter((name): name is string => name !== undefined);
    let refused = 0;
    for (const deployment of revisionsToScaleDown(w, snapshot, pending)) {
      try {
        issue(sys, { type: 'ScaleRevision', deployment, replicas: 0 }, null, 'sweep');
      } catch (err) {
        refused += 1;
        sys.note(
          `sweep: not scaling down ${deployment}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    if (settle.length > 0 || refused > 0) return;
    const scaled = sys.cluster.snapshot(sys.services);
    for (const deployment of revisionsToRemove(w, scaled, sys.target.spec.revisionHistoryLimit)) {
      issue(sys, { type: 'DeleteRevision', deployment }, null, 'sweep');
    }
    const cur = sys.workload;
    if (cur.inFlight === null && cur.lastRelease === w.lastRelease)
      sys.workload = { ...cur, gcPending: false };
  } catch (err) {
    sys.note(`sweep: could not clean up: ${err instanceof Error ? err.message : String(err)}`);
  }
}
