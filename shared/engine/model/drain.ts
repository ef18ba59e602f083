// The drain after a history (liveness, invariant iii): events stop, everything is delivered and
// ready, time moves to each next wake with a sweep a minute, a human promotes or resumes what waits,
// and every release must end within its deadlines plus delays; then the end state is checked.

import { isTerminal } from '../phase.ts';
import type { Release } from '../release.ts';
import { afterEvent } from './event-loop.ts';
import { checkEndState } from './invariants.ts';
import { timing } from './scenario.ts';
import type { SystemState } from './state.ts';
import { claim, finish } from './step-runner.ts';
import { sweep } from './sweep.ts';
import { collapse, fmtTime } from './trace.ts';

/**
 * Events stop: every pod becomes ready, EndpointSlices and the Gateway catch up, every message is
 * delivered and every step runs to its end, time moves to the next due moment, and the scheduler
 * runs the sweep every minute. First without a human: every release must end, or wait for one
 * (a pause, promotion by hand) within its deadlines plus delays. Then a human promotes or resumes
 * whatever waits, and every release must end. Then the end state is checked.
 */
export function runDrain(sys: SystemState): void {
  sys.eventIndex += 1;
  sys.notes.length = 0;
  const line = `#${sys.eventIndex} t=${fmtTime(sys.now)} drain (every pod ready, every message delivered, time to each next wake, a sweep a minute; then a human promotes)`;
  for (const phase of [1, 2] as const) {
    const start = sys.now;
    const open = [...sys.releases.values()].filter((r) => !settled(sys, r, phase));
    const bound = Math.max(1, open.length) * releaseBoundMs() + timing.leaseMs;
    let nextSweep = sys.now;
    let settledAt: number | null = null;
    for (let round = 0; round < 5000; round++) {
      const c = sys.cluster;
      c.allPodsReady();
      c.syncAll();
      c.gatewayAccepts();
      if (phase === 2) humanActs(sys);
      afterEvent(sys);
      while (sys.steps.length) finish(sys, sys.steps[0]!);
      const due = sys.bag.filter((m) => m.at <= sys.now);
      if (due.length) {
        for (const m of due) {
          sys.bag.splice(sys.bag.indexOf(m), 1);
          const s = claim(sys, m);
          if (s) finish(sys, s);
          afterEvent(sys);
        }
        continue;
      }
      if (
        [...sys.releases.values()].every((r) => settled(sys, r, phase)) &&
        sys.controls.length === 0 &&
        sys.pushes.length === 0 &&
        // …and the sweep has cleaned up after the last release (as it does within a minute).
        !(sys.workload.gcPending && !sys.workload.inFlight)
      ) {
        settledAt = sys.now;
        break;
      }
      if (sys.now - start > bound + timing.sweepEveryMs) break;
      if (sys.now >= nextSweep) {
        sweep(sys);
        afterEvent(sys);
        nextSweep = sys.now + timing.sweepEveryMs;
        continue;
      }
      const candidates = [nextSweep, ...sys.bag.map((m) => m.at)].filter((t) => t > sys.now);
      sys.now = Math.min(...candidates);
    }
    const stuck = [...sys.releases.values()].filter((r) => !settled(sys, r, phase));
    if (settledAt === null || settledAt - start > bound) {
      const which = stuck.length
        ? stuck
            .map((r) => `${r.id} ${r.phase}${r.cleanup ? ' (cleanup pending)' : ''} (${r.reason ?? ''})`)
            .join('; ')
        : sys.controls.length || sys.pushes.length
          ? `queued: ${[...sys.controls.map((q) => q.msg.command), ...sys.pushes.map((v) => `push v${v}`)].join(', ')}`
          : 'the sweep could not clean up after the last release';
      sys.violate(
        'not-terminal',
        settledAt === null
          ? `drain phase ${phase}: after ${fmtTime(sys.now - start)} still open: ${which}`
          : `drain phase ${phase}: took ${fmtTime(settledAt - start)}, more than the bound ${fmtTime(bound)}`,
      );
      break;
    }
  }
  if (!sys.violations.some((v) => v.kind === 'not-terminal')) checkEndState(sys);
  if (!sys.verbose) return;
  // What the drain did, one line per action, up to the first violation (then the end state).
  const first = sys.notes.findIndex((n) => n.startsWith('VIOLATION'));
  const actions = collapse(first === -1 ? sys.notes : sys.notes.slice(0, first + 1));
  sys.trace.push(line, ...actions.map((n) => `      · ${sys.readable(n)}`), `      end: ${sys.stateLine()}`);
}

function releaseBoundMs(): number {
  const t = timing;
  return (
    2 * t.progressDeadlineSeconds * 1000 +
    (t.scaleDownDelaySeconds +
      t.abortScaleDownDelaySeconds +
      2 * t.pauseSeconds +
      t.autoPromotionSeconds +
      t.drainMaxWaitSeconds) *
      1000 +
    t.leaseMs +
    2 * t.sweepEveryMs +
    t.overdueMs
  );
}

/** Phase 1: ended (cleanup done) or waiting for a human, directly or queued behind one that does. */
function settled(sys: SystemState, r: Release, phase: 1 | 2): boolean {
  if (isTerminal(r.phase)) return r.cleanup === null;
  if (phase === 2) return false;
  if (waitsForHuman(sys, r)) return true;
  const blocker = sys.workload.inFlight ? sys.releases.get(sys.workload.inFlight) : undefined;
  return r.phase === 'Pending' && !!blocker && blocker.id !== r.id && waitsForHuman(sys, blocker);
}

/**
 * Paused, or waiting for promote: AwaitingPromotion unless blue-green promotes itself after
 * autoPromotionSeconds (a resumed release keeps a wake-up that changes nothing, so the wake does not tell).
 */
function waitsForHuman(sys: SystemState, r: Release): boolean {
  if (isTerminal(r.phase)) return false;
  if (r.paused) return true;
  const bg = sys.target.spec.strategy.blueGreen;
  const timed = !!bg && bg.autoPromotionEnabled && bg.autoPromotionSeconds !== undefined;
  return r.phase === 'AwaitingPromotion' && !timed;
}

function humanActs(sys: SystemState): void {
  for (const r of sys.releases.values()) {
    if (!waitsForHuman(sys, r)) continue;
    if (sys.controls.some((q) => q.msg.release === r.id)) continue;
    sys.controls.push({
      msg: {
        command: r.paused ? 'resume' : 'promote',
        target: 'api',
        release: r.id,
        full: false,
        requestedBy: 'human',
        requestId: `human-${String(++sys.counter).padStart(4, '0')}`,
      },
    });
  }
}
