// One event of a model history carried out (events.ts), then what follows every event: the
// cluster settles, queued pushes and control messages are tried, and invariant (i) is checked.
// Includes crashes (a running step dies; Pub/Sub redelivers its message) and duplicate deliveries.
import { describeEvent, type Event } from './events.ts';
import { control, tryControls, tryPushes } from './intake.ts';
import { checkServing } from './invariants.ts';
import type { SystemState } from './state.ts';
import { advanceStep, claim, finish } from './step-runner.ts';
import { sweep } from './sweep.ts';
import { fmtTime } from './trace.ts';

/** Runs one event and checks the invariants after it. */
export function runEvent(sys: SystemState, ev: Event): void {
  sys.eventIndex += 1;
  sys.notes.length = 0;
  handle(sys, ev);
  afterEvent(sys);
  if (!sys.verbose) return;
  const line = `#${sys.eventIndex} t=${fmtTime(sys.now)} ${describeEvent(ev)}${sys.notes.length ? ` → ${sys.notes.join('; ')}` : ''}`;
  sys.trace.push(`${sys.readable(line)}\n      ${sys.stateLine()}`);
}

export function afterEvent(sys: SystemState): void {
  sys.cluster.settle();
  tryPushes(sys);
  tryControls(sys);
  sys.cluster.settle();
  sys.cluster.noteStale(sys.now);
  checkServing(sys);
}

function handle(sys: SystemState, ev: Event): void {
  switch (ev.e) {
    case 'tick': {
      sys.now += ev.ms;
      // Bounded lag: EndpointSlices and the Gateway out of date for maxLagMs have caught up.
      for (const n of sys.cluster.catchUp(sys.now)) sys.note(n);
      return;
    }
    case 'run':
    case 'deliver': {
      const due = sys.bag.filter((m) => m.at <= sys.now);
      if (due.length === 0) {
        sys.note('no message due');
        return;
      }
      const m = due[ev.i % due.length]!;
      sys.bag.splice(sys.bag.indexOf(m), 1);
      const step = claim(sys, m);
      if (step && ev.e === 'run') finish(sys, step);
      return;
    }
    case 'advance': {
      if (sys.steps.length === 0) {
        sys.note('no running step');
        return;
      }
      advanceStep(sys, sys.steps[ev.i % sys.steps.length]!);
      return;
    }
    case 'crash': {
      if (sys.steps.length === 0) {
        sys.note('no running step');
        return;
      }
      const s = sys.steps[ev.i % sys.steps.length]!;
      sys.steps.splice(sys.steps.indexOf(s), 1);
      sys.publish({ ...s.msg, at: sys.now });
      sys.note(
        `step ${s.n} (${s.msg.step} ${s.msg.releaseId}) crashed at stage ${s.stage}; message redelivered`,
      );
      return;
    }
    case 'dup': {
      if (sys.bag.length === 0) {
        sys.note('no message');
        return;
      }
      const m = sys.bag[ev.i % sys.bag.length]!;
      sys.publish({ ...m });
      return;
    }
    case 'ready': {
      const key = sys.cluster.podReady(ev.i);
      sys.note(key === null ? 'no pod to become ready' : `${sys.backendName(key)} +1 ready`);
      return;
    }
    case 'unready': {
      const key = sys.cluster.podUnready(ev.i);
      sys.note(key === null ? 'no pod to fail' : `${sys.backendName(key)} -1 ready`);
      return;
    }
    case 'sync': {
      const s = sys.services[ev.i % sys.services.length]!;
      sys.cluster.syncEndpoints(s);
      sys.note(`${s} EndpointSlices synced`);
      return;
    }
    case 'accept':
      if (!sys.cluster.gatewayAccepts()) sys.note('nothing new to accept');
      return;
    case 'push':
      // A push waits for the claims of the live releases (claims.ts); tried after every event.
      sys.pushes.push(ev.v);
      return;
    case 'control':
      control(sys, ev.c);
      return;
    case 'sweep':
      sweep(sys);
      return;
    case 'calm':
      calm(sys, ev.ms, ev.steps);
      return;
  }
}

function calm(sys: SystemState, ms: number, steps: number): void {
  const until = sys.now + ms;
  let left = steps;
  while (left > 0) {
    sys.cluster.allPodsReady();
    sys.cluster.syncAll();
    sys.cluster.gatewayAccepts();
    afterEvent(sys);
    const due = sys.bag.filter((m) => m.at <= sys.now);
    if (due.length === 0) {
      const next = Math.min(...sys.bag.map((m) => m.at));
      if (!(next <= until)) return;
      sys.now = next;
      continue;
    }
    const m = due[0]!;
    sys.bag.splice(sys.bag.indexOf(m), 1);
    const s = claim(sys, m);
    if (s) {
      finish(sys, s);
      left -= 1;
    }
    afterEvent(sys);
  }
}
