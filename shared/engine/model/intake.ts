// Image pushes and control messages in the model runtime (runtime/push.ts, runtime/control.ts): each
// waits while a lease is held on a release it changes (claims.ts), is tried again after every event,
// and is applied in one transaction.
import type { ControlMessage } from '../../messages.ts';
import { decideControl } from '../control.ts';
import { decidePush, parsePush } from '../intake.ts';
import type { Release } from '../release.ts';
import type { ControlCommand } from './events.ts';
import { repo } from './fixtures.ts';
import { image, tagOf } from './scenario.ts';
import type { SystemState } from './state.ts';
import { controlFence } from './step-rules.ts';

// ---- pushes ---------------------------------------------------------------------------------

/** push.ts runPush() for the one target, in one transaction. */
function push(sys: SystemState, v: number): void {
  const img = image(v);
  const parsed = parsePush({ action: 'INSERT', digest: img, tag: `${repo}:${tagOf(img)}` });
  if (typeof parsed === 'string') throw new Error(parsed);
  const messageId = `push-${++sys.counter}`;
  const out = decidePush(sys.target, parsed, messageId, sys.workload, sys.liveReleases(), sys.now);
  if (out.kind === 'ignored') {
    sys.note(`ignored: ${out.reason}`);
    return;
  }
  if (sys.releases.has(out.release.id)) {
    // tx.create() of an existing document fails the transaction; every redelivery fails the same way.
    sys.violate(
      'lost-push',
      `push of ${tagOf(img)} cannot create ${out.release.id}: it exists (the workload's release counter went back)`,
    );
    return;
  }
  const release = sys.planWake(out.release);
  sys.releases.set(release.id, release);
  const toWake: Release[] = [];
  for (const old of out.superseded) {
    const planned = sys.planWake(old);
    sys.releases.set(old.id, planned);
    toWake.push(planned);
    sys.note(`${old.id} superseded`);
  }
  sys.workload = out.workload;
  toWake.push(release);
  sys.note(`${release.id} created for ${tagOf(img)}`);
  for (const r of toWake) sys.dispatchWake(r);
}

export function tryPushes(sys: SystemState): void {
  for (const v of [...sys.pushes]) {
    const wait = controlFence(null, sys.liveReleases(), sys.now);
    if (wait) {
      sys.note(`push v${v} waits: ${wait}`);
      continue;
    }
    sys.pushes.splice(sys.pushes.indexOf(v), 1);
    push(sys, v);
  }
}

// ---- control messages -----------------------------------------------------------------------

export function control(sys: SystemState, c: ControlCommand): void {
  const msg: ControlMessage = {
    command: c === 'promote-full' ? 'promote' : c,
    target: 'api',
    full: c === 'promote-full',
    requestedBy: 'model',
    requestId: `request-${String(++sys.counter).padStart(4, '0')}`,
  };
  sys.controls.push({ msg });
}

/** Applies queued control messages whose fence is open (control.ts runControl, one transaction each). */
export function tryControls(sys: SystemState): void {
  for (const q of [...sys.controls]) {
    const msg = q.msg;
    const label = `${msg.command}${msg.full ? ' --full' : ''}`;
    const workload = sys.workload;
    const releaseId = msg.release ?? workload.inFlight ?? workload.queued ?? workload.lastRelease;
    const release = releaseId ? (sys.releases.get(releaseId) ?? null) : null;
    const live = sys.liveReleases();
    const wait = controlFence(release, live, sys.now);
    if (wait) {
      if (!sys.notes.some((n) => n.startsWith(`${label} waits`))) sys.note(`${label} waits: ${wait}`);
      continue;
    }
    sys.controls = sys.controls.filter((x) => x !== q);
    const outcome = decideControl(sys.target, msg, release, workload, live, sys.now);
    if (outcome.kind === 'refused') {
      if (release) {
        const history = [
          ...release.history,
          {
            at: sys.now,
            from: release.phase,
            to: release.phase,
            cause: msg.command,
            reason: `refused: ${outcome.reason}`,
          },
        ];
        sys.releases.set(release.id, { ...release, history, updatedAt: sys.now });
      }
      sys.note(`${label} refused: ${outcome.reason}`);
      continue;
    }
    const next = sys.planWake(outcome.release);
    const toWake: Release[] = [];
    if (outcome.kind === 'started') {
      if (sys.releases.has(next.id)) {
        sys.violate(
          'lost-push',
          `${label} cannot create ${next.id}: it exists (the workload's release counter went back)`,
        );
        continue;
      }
      for (const old of outcome.superseded) {
        const planned = sys.planWake(old);
        sys.releases.set(old.id, planned);
        toWake.push(planned);
      }
    }
    sys.releases.set(next.id, next);
    sys.workload = outcome.workload;
    toWake.push(next);
    sys.note(`${label} applied: ${next.id} ${next.phase}`);
    for (const r of toWake) sys.dispatchWake(r);
  }
}
