// A step of the model runtime, stage by stage (runtime/step.ts): the claim or the look without one,
// observe + decide, the claim after a look that has something to write, and the stages after it
// (step-writes.ts). The harness advances one stage at a time, with any other event between.
import { describeCommand } from '../commands.ts';
import { decideStep } from '../decide.ts';
import { quietly } from '../quiet.ts';
import type { Release } from '../release.ts';
import type { ModelRouterContext } from './cluster-objects.ts';
import { takesDownServing } from './invariants.ts';
import { timing } from './scenario.ts';
import type { RunningStep, StepMsg, SystemState } from './state.ts';
import { commit, end, executeOne, startWriting, unclaim } from './step-writes.ts';

function routing(sys: SystemState, r: Release): ModelRouterContext | null {
  const canary = sys.target.spec.strategy.canary;
  if (!canary || !r.stable || !r.candidate) return null;
  return {
    stableService: canary.stableService,
    canaryService: canary.canaryService,
    stableRevision: r.stable.revision,
    canaryRevision: r.candidate.revision,
    stableDeployment: r.stable.deployment,
    canaryDeployment: r.candidate.deployment,
    replicas: r.replicas,
    releaseId: r.id,
  };
}

/**
 * step.ts look() then claim(): a release with a stored pollUntil horizon and no live lease is read
 * without a claim (no analysis runs in the model; the target always validates); otherwise a
 * transaction takes the release unless the message is stale or it is leased.
 */
export function claim(sys: SystemState, m: StepMsg): RunningStep | null {
  const r = sys.releases.get(m.releaseId);
  const what = `${m.step} ${m.releaseId} seq ${m.seq}`;
  if (!r || r.seq !== m.seq) {
    sys.note(`${what}: stale`);
    return null;
  }
  if (!(r.lease && r.lease.until > sys.now) && r.wake?.pollUntil) {
    const step: RunningStep = {
      n: ++sys.counter,
      msg: m,
      stage: 'claimed',
      claimed: { ...r, lease: null },
      commands: [],
      done: 0,
      ctx: null,
    };
    sys.steps.push(step);
    sys.note(`step ${step.n} looks at ${what} (no claim)`);
    return step;
  }
  if (r.lease && r.lease.until > sys.now) {
    sys.note(`${what}: busy (dropped)`);
    return null;
  }
  const lease = { owner: `step-${++sys.counter}`, until: sys.now + timing.leaseMs };
  const claimed = { ...r, lease };
  sys.releases.set(r.id, claimed);
  const step: RunningStep = {
    n: sys.counter,
    msg: m,
    stage: 'claimed',
    claimed,
    commands: [],
    done: 0,
    ctx: null,
  };
  sys.steps.push(step);
  sys.note(`step ${step.n} claimed ${what}`);
  return step;
}

export function finish(sys: SystemState, step: RunningStep): void {
  while (sys.steps.includes(step)) advanceStep(sys, step);
}

export function advanceStep(sys: SystemState, step: RunningStep): void {
  switch (step.stage) {
    case 'claimed':
      observeAndDecide(sys, step);
      return;
    case 'claim':
      claimAfterLook(sys, step);
      return;
    case 'executing':
      executeOne(sys, step);
      return;
    case 'commit':
      commit(sys, step);
      return;
    case 'publish':
      if (step.next) sys.dispatchWake(step.next);
      end(sys, step);
      return;
  }
}

function observeAndDecide(sys: SystemState, step: RunningStep): void {
  const release = step.claimed;
  // step.ts reads the workload outside any transaction, and commit() writes it back whole.
  // Records are replaced, never changed in place, so holding the reference is reading a copy.
  const workload = sys.workload;
  step.inputWorkload = workload;
  const observation = sys.cluster.observe(sys.services, routing(sys, release));
  const decision = decideStep(
    sys.target,
    release,
    workload,
    { type: 'step', step: step.msg.step, observation },
    sys.now,
  );
  if (decision.release === release) {
    if (release.lease) unclaim(sys, step);
    end(sys, step);
    sys.note(`step ${step.n}: unchanged`);
    return;
  }
  step.commands = decision.commands;
  step.unsafeWhenDecided = decision.commands.map((c) => takesDownServing(sys, c));
  step.next = { ...decision.release, attempts: null };
  step.nextWorkload = decision.workload;
  step.ctx = routing(sys, release) ?? routing(sys, decision.release);
  if (!release.lease) {
    // A look: nothing new seen writes nothing, the next look handed over with the same seq;
    // otherwise the step claims the release first (a separate stage: anything may happen between).
    if (quietly(release, workload, decision)) {
      const planned = sys.planWake(decision.release);
      step.next = { ...planned, seq: release.seq, wake: { ...planned.wake!, seq: release.seq } };
      step.commands = [];
      step.stage = 'publish';
      sys.note(`step ${step.n}: quiet look (${decision.release.reason ?? ''}), nothing written`);
      return;
    }
    step.stage = 'claim';
    noteDecision(sys, step, release, decision.release, ' (looked without a claim)');
    return;
  }
  noteDecision(sys, step, release, decision.release, '');
  startWriting(sys, step);
}

function noteDecision(
  sys: SystemState,
  step: RunningStep,
  release: Release,
  decided: Release,
  how: string,
): void {
  sys.note(() => {
    const cmds = step.commands.map(describeCommand).join(', ');
    const why = decided.reason ? ` (${decided.reason})` : '';
    return `step ${step.n}${how} decided ${release.phase} -> ${decided.phase}${why}${cmds ? ` [${cmds}]` : ''}`;
  });
}

/** step.ts after a look: the claim taken in a transaction, unless stale or busy. */
function claimAfterLook(sys: SystemState, step: RunningStep): void {
  const m = step.msg;
  const r = sys.releases.get(m.releaseId);
  const what = `${m.step} ${m.releaseId} seq ${m.seq}`;
  if (!r || r.seq !== m.seq || (r.lease && r.lease.until > sys.now)) {
    end(sys, step);
    sys.note(`step ${step.n} (${what}) claim after look: ${!r || r.seq !== m.seq ? 'stale' : 'busy'}`);
    return;
  }
  const lease = { owner: `step-${step.n}`, until: sys.now + timing.leaseMs };
  step.claimed = { ...r, lease };
  sys.releases.set(r.id, step.claimed);
  sys.note(`step ${step.n} claimed ${what} after its look`);
  startWriting(sys, step);
}
