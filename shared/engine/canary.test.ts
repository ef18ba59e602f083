// The canary state machine (canary.ts, canary-steps.ts, canary-state.ts, rollBackCanary) stepped
// through decideStep on the hand-stepped cluster of model/hand-cluster.ts, with a router (a
// gatewayAPI-like read-back) or without one (replica ratio behind the stable Service).
import { describe, expect, it } from 'vitest';
import type { ProviderResult } from '../analysis/provider.ts';
import { analysisTemplateSchema } from '../analysis/schema.ts';
import type { RouteState } from '../routers/router.ts';
import type { Command } from './commands.ts';
import { decideControl } from './control.ts';
import { decideStep } from './decide.ts';
import type { Decision, Observation } from './kernel.ts';
import { canaryTarget, controlMessage, digest, pushImage } from './model/fixtures.ts';
import { Cluster, drive, name, rev } from './model/hand-cluster.ts';
import { emptyWorkload, type Release, type Workload } from './release.ts';
import type { CanaryStrategy, EngineTarget } from './target.ts';

type Steps = CanaryStrategy['steps'];

/** A router's read-back: SetWeight, PrepareRouter and FinalizeRouter change it; `accepts` is the data plane. */
class RoutedCluster extends Cluster {
  route: RouteState = { weight: 0, headerRoute: null, accepted: true };
  accepts = true;

  override observe(): Observation {
    return { ...super.observe(), route: { ...this.route } };
  }

  override apply(commands: Command[]): void {
    for (const c of commands) {
      if (c.type === 'SetWeight') {
        this.route = { weight: c.weight, headerRoute: c.headerRoute, accepted: this.accepts };
      } else if (c.type === 'PrepareRouter' || c.type === 'FinalizeRouter') {
        this.route = { weight: 0, headerRoute: null, accepted: this.accepts };
      } else super.apply([c]);
    }
  }
}

const routed = (steps: Steps): EngineTarget => {
  const t = canaryTarget(steps);
  t.spec.strategy.canary!.trafficRouting = { gatewayAPI: { httpRoute: 'api' } };
  return t;
};

type At = { release: Release; workload: Workload; now: number };

/** One step at `now` (default: the release's wake-up), with `measurements` answered. */
function step(
  t: EngineTarget,
  c: Cluster,
  at: At,
  now = at.release.wake!.at,
  measurements: Observation['measurements'] = {},
): At & Decision {
  c.release = at.release;
  const observation = { ...c.observe(), measurements };
  c.lagging = {}; // EndpointSlices catch up after one observation, as in hand-cluster's step().
  const d = decideStep(
    t,
    at.release,
    at.workload,
    { type: 'step', step: at.release.wake!.step, observation },
    now,
  );
  c.release = d.release;
  c.apply(d.commands);
  return { ...d, now };
}

/** The plain Deployment adopted (v1 stable, Services narrowed), then v2 pushed: the release Pending. */
function pushed(t: EngineTarget, c: Cluster): At {
  if (t.spec.strategy.canary!.trafficRouting) c.selectors['api-canary'] = { [name]: 'api' };
  const first = pushImage(t, digest('1'), emptyWorkload('api'), 0);
  const adopted = drive(t, c, first.release, first.workload, 0);
  expect(adopted.release.phase).toBe('Succeeded');
  const now = adopted.now + 1000;
  const next = pushImage(t, digest('2'), adopted.workload, now);
  return { release: next.release, workload: next.workload, now };
}

/** Steps while `go(release)` holds, each at its wake-up (at most `max`); with every command issued. */
function until(t: EngineTarget, c: Cluster, at: At, go: (r: Release) => boolean, max = 50) {
  let cur: At = at;
  const commands: Command[] = [];
  for (let i = 0; i < max && cur.release.wake && go(cur.release); i++) {
    const d = step(t, c, cur);
    commands.push(...d.commands);
    cur = d;
  }
  return { ...cur, commands };
}

/** A control command applied to the release at `at` (it must apply). */
function control(t: EngineTarget, command: 'promote' | 'abort', at: At): At {
  const m = controlMessage(command, `req-${command}-0001`);
  const out = decideControl(t, m, at.release, at.workload, [at.release], at.now);
  if (out.kind !== 'applied') throw new Error(`${command}: ${out.kind}`);
  return { release: out.release, workload: out.workload, now: at.now };
}

const inProgressing = (t: EngineTarget, c: Cluster, at: At) =>
  until(t, c, at, (r) => r.phase === 'Pending' || r.phase === 'DeployingGreen');

/** Steps until the canary state reaches step `index` (or the release leaves Progressing). */
const atStep = (t: EngineTarget, c: Cluster, at: At, index: number) =>
  until(t, c, at, (r) => r.phase === 'Progressing' && (r.canary?.step ?? 0) < index);

describe('canary decideStep()', () => {
  it('DeployingGreen waits for the canary revision to be ready, then PrepareRouter + SelectRevision and Progressing', () => {
    const t = routed([{ setWeight: 20 }]);
    const c = new RoutedCluster(t);
    const start = pushed(t, c);
    c.instant = false;
    const deploying = step(t, c, start);
    expect(deploying.release.phase).toBe('DeployingGreen');
    const canary = deploying.release.candidate!;
    expect(deploying.commands).toContainEqual(
      expect.objectContaining({ type: 'EnsureRevision', spec: expect.objectContaining({ replicas: 1 }) }),
    );

    const waiting = step(t, c, deploying);
    expect(waiting.release.phase).toBe('DeployingGreen');
    expect(waiting.commands).toEqual([]);
    expect(waiting.release.reason).toBe(`waiting for ${canary.deployment}: 0/1 ready`);
    // The canary Service stays on stable (where adoption narrowed it) until the canary is ready.
    expect(c.selectors['api-canary']?.[rev]).toBe(deploying.release.stable!.revision);

    c.settle();
    const on = step(t, c, waiting);
    expect(on.commands).toEqual([
      { type: 'PrepareRouter' },
      { type: 'SelectRevision', service: 'api-canary', revision: canary.revision },
    ]);
    expect(on.release.phase).toBe('Progressing');
    expect(on.release.reason).toBeNull();
    expect(on.release.canary).toMatchObject({ step: 0, stepSince: on.now, weight: 0, stepRuns: [] });
    expect(on.release.wake).toMatchObject({ step: 'analyze' });
    expect(c.selectors.api?.[rev]).toBe(on.release.stable!.revision);
  });

  it('setWeight emits SetWeight and advances the step only once the router reads the weight back accepted', () => {
    const t = routed([{ setWeight: 20 }, { pause: {} }]);
    const c = new RoutedCluster(t);
    const prog = inProgressing(t, c, pushed(t, c));
    expect(prog.release.phase).toBe('Progressing');

    c.accepts = false;
    const asked = step(t, c, prog);
    expect(asked.commands).toEqual([{ type: 'SetWeight', weight: 20, headerRoute: null }]);
    expect(asked.release.canary).toMatchObject({ step: 0, weight: 20 });
    expect(asked.release.reason).toBe('setting weight 20');

    const unaccepted = step(t, c, asked);
    expect(unaccepted.commands).toEqual([]);
    expect(unaccepted.release.canary?.step).toBe(0);
    expect(unaccepted.release.reason).toBe('waiting for the router to accept weight 20');

    c.route.accepted = true;
    const done = step(t, c, unaccepted);
    expect(done.commands).toEqual([]);
    expect(done.release.canary).toMatchObject({ step: 1, stepSince: done.now, weight: 20 });
    expect(done.release.canary?.inForce).toMatchObject({ weight: 20, accepted: true });
    expect(done.release.reason).toBe('weight 20 in force');
    expect(done.release.wake?.at).toBe(done.now);
  });

  it('a timed pause waits with its wake-up at the pause end, then advances', () => {
    const t = routed([{ setWeight: 20 }, { pause: { duration: 30 } }, { setWeight: 40 }]);
    const c = new RoutedCluster(t);
    const paused = atStep(t, c, inProgressing(t, c, pushed(t, c)), 1);
    expect(paused.release.canary?.step).toBe(1);
    const since = paused.release.canary!.stepSince;

    const waiting = step(t, c, paused, since + 10_000);
    expect(waiting.commands).toEqual([]);
    expect(waiting.release.phase).toBe('Progressing');
    expect(waiting.release.reason).toBe('pausing 30 s at step 2');
    expect(waiting.release.canary?.step).toBe(1);
    expect(waiting.release.wake).toMatchObject({ step: 'analyze', at: since + 30_000 });

    const early = step(t, c, waiting, since + 29_999);
    expect(early.release.canary?.step).toBe(1);
    const after = step(t, c, early, since + 30_000);
    expect(after.release.canary).toMatchObject({ step: 2, stepSince: since + 30_000 });
    expect(after.release.wake?.at).toBe(since + 30_000);
    // The next step (setWeight 40) first grows the canary to its share: ceil(3 * 40%) = 2.
    expect(step(t, c, after).commands).toEqual([
      { type: 'ScaleRevision', deployment: paused.release.candidate!.deployment, replicas: 2 },
    ]);
  });

  it('an untimed pause enters AwaitingPromotion with no wake-up', () => {
    const t = routed([{ setWeight: 20 }, { pause: {} }]);
    const c = new RoutedCluster(t);
    const end = until(t, c, inProgressing(t, c, pushed(t, c)), (r) => r.phase === 'Progressing');
    expect(end.release.phase).toBe('AwaitingPromotion');
    expect(end.release.reason).toBe('paused at step 2: promote to go on');
    expect(end.release.canary).toMatchObject({ step: 1, weight: 20 });
    expect(end.release.wake).toBeNull();
    expect(end.release.history.at(-1)).toMatchObject({ from: 'Progressing', to: 'AwaitingPromotion' });
    expect(c.route.weight).toBe(20);
  });

  it('promote after the last step: Switching scales the canary to full, moves the stable Service, routes 100/0, then ScalingDown', () => {
    const t = routed([{ setWeight: 20 }, { pause: {} }]);
    const c = new RoutedCluster(t);
    const paused = until(t, c, inProgressing(t, c, pushed(t, c)), (r) => r.phase === 'Progressing');
    const { stable, candidate } = paused.release;
    const out = control(t, 'promote', paused);
    expect(out.release).toMatchObject({ phase: 'Progressing', canary: { step: 2 } });

    const switching = step(t, c, out);
    expect(switching.release.phase).toBe('Switching');
    expect(switching.commands).toEqual([]);
    const scaled = step(t, c, switching);
    expect(scaled.commands).toEqual([
      { type: 'ScaleRevision', deployment: candidate!.deployment, replicas: 3 },
    ]);
    const moved = step(t, c, scaled);
    expect(moved.commands).toEqual([
      { type: 'SelectRevision', service: 'api', revision: candidate!.revision },
      { type: 'FinalizeRouter', stableRevision: candidate!.revision },
      { type: 'SelectRevision', service: 'api-canary', revision: candidate!.revision },
      { type: 'MoveHpa', from: stable!.deployment, to: candidate!.deployment },
    ]);
    expect(moved.release.switchedAt).toBe(moved.now);
    expect(moved.workload.stable).toEqual(candidate);
    expect(moved.workload.previous[0]).toEqual(stable);

    const down = step(t, c, moved);
    expect(down.release.phase).toBe('ScalingDown');
    expect(down.release.wake).toMatchObject({ step: 'scale-down', at: down.now + 30_000 });
    expect(c.route).toMatchObject({ weight: 0, accepted: true });
    expect(c.revisions[stable!.revision]?.desired).toBe(3);
    const end = until(t, c, down, (r) => r.phase === 'ScalingDown');
    expect(end.release.phase).toBe('Succeeded');
    expect(c.revisions[stable!.revision]?.desired).toBe(0);
  });

  it('abort in Progressing: RollingBack, weight 0 with the stable Service on stable, then Aborted keeping the canary to scale down', () => {
    const t = routed([{ setWeight: 20 }, { setWeight: 50 }]);
    const c = new RoutedCluster(t);
    const at = atStep(t, c, inProgressing(t, c, pushed(t, c)), 1);
    expect(c.route.weight).toBe(20);
    const { stable, candidate } = at.release;
    const out = control(t, 'abort', at);
    expect(out.release).toMatchObject({ phase: 'RollingBack', rollbackOutcome: 'Aborted' });

    const back = step(t, c, out);
    expect(back.commands).toEqual([{ type: 'FinalizeRouter', stableRevision: stable!.revision }]);
    expect(back.release.phase).toBe('RollingBack');
    expect(c.route.weight).toBe(0);

    const ended = step(t, c, back);
    expect(ended.commands).toEqual([
      { type: 'SelectRevision', service: 'api-canary', revision: stable!.revision },
      { type: 'FinalizeRouter', stableRevision: stable!.revision },
    ]);
    expect(ended.release.phase).toBe('Aborted');
    expect(ended.release.reason).toBe('aborted');
    expect(ended.release.cleanup).toEqual({
      deployment: candidate!.deployment,
      at: ended.now + 30_000,
      action: 'scale-down',
    });
    expect(ended.release.wake).toMatchObject({ step: 'rollback', at: ended.now + 30_000 });
    expect(ended.workload).toMatchObject({ inFlight: null, stable });
    expect(c.selectors.api?.[rev]).toBe(stable!.revision);

    const draining = step(t, c, ended);
    expect(draining.commands).toEqual([]);
    expect(draining.release.reason).toBe(`waiting for api-canary to stop listing ${candidate!.deployment}`);
    const cleaned = step(t, c, draining);
    expect(cleaned.release.cleanup).toBeNull();
    expect(cleaned.commands).toEqual([
      { type: 'ScaleRevision', deployment: candidate!.deployment, replicas: 0 },
    ]);
    expect(c.revisions[candidate!.revision]).toMatchObject({ exists: true, desired: 0 });
  });

  it('a failed step analysis rolls back: RolledBack with the canary to delete', () => {
    const t = routed([{ setWeight: 20 }, { analysis: { templates: [{ templateName: 'errors' }] } }]);
    // One measurement of error-rate, failing at 5 % or more (the schema fills in the limits).
    const metric = {
      name: 'error-rate',
      successCondition: 'result[0] < 0.05',
      provider: { prometheus: { address: 'http://prometheus:9090', query: 'q' } },
    };
    t.spec.analysis = { templates: [analysisTemplateSchema.parse({ name: 'errors', metrics: [metric] })] };
    const c = new RoutedCluster(t);
    const at = atStep(t, c, inProgressing(t, c, pushed(t, c)), 1);
    const bad: Record<string, ProviderResult> = {
      'error-rate': { kind: 'value', value: [0.5], noData: false },
    };
    let cur: At & Partial<Decision> = at;
    for (let i = 0; i < 10 && cur.release.phase === 'Progressing'; i++)
      cur = step(t, c, cur, cur.release.wake!.at, { step: bad });
    expect(cur.release.phase).toBe('RollingBack');
    expect(cur.release.rollbackOutcome).toBe('RolledBack');
    expect(cur.release.reason).toMatch(/^analysis at step 2 failed/);
    expect(cur.release.canary?.stepRuns.at(-1)?.phase).toBe('Failed');

    const end = until(t, c, cur, (r) => r.phase === 'RollingBack');
    expect(end.release.phase).toBe('RolledBack');
    expect(end.release.reason).toMatch(/^analysis at step 2 failed/);
    expect(end.release.cleanup).toMatchObject({
      deployment: at.release.candidate!.deployment,
      action: 'delete',
    });
    expect(c.route.weight).toBe(0);
    expect(c.selectors['api-canary']?.[rev]).toBe(at.release.stable!.revision);
  });

  it('the canary revision never ready past the progress deadline: rolled back, stable untouched', () => {
    const t = routed([{ setWeight: 20 }]);
    const c = new RoutedCluster(t);
    const start = pushed(t, c);
    c.instant = false;
    const deploying = step(t, c, start);
    const since = deploying.release.phaseSince;
    const { stable, candidate } = deploying.release;

    const before = step(t, c, deploying, since + 59_999);
    expect(before.release.phase).toBe('DeployingGreen');
    const late = step(t, c, before, since + 60_000);
    expect(late.release.phase).toBe('RollingBack');
    expect(late.release.rollbackOutcome).toBe('RolledBack');
    expect(late.release.reason).toBe(
      `canary revision ${candidate!.deployment} did not become ready within 60 s`,
    );

    const end = until(t, c, late, (r) => r.phase === 'RollingBack');
    expect(end.release.phase).toBe('RolledBack');
    expect(end.release.cleanup?.action).toBe('delete');
    expect(c.selectors.api?.[rev]).toBe(stable!.revision);
    expect(c.revisions[stable!.revision]?.desired).toBe(3);
    expect(c.violations()).toEqual([]);
  });

  it('a Deployment reporting progressDeadlineExceeded rolls back at once', () => {
    const t = routed([{ setWeight: 20 }]);
    const c = new RoutedCluster(t);
    const start = pushed(t, c);
    c.instant = false;
    const deploying = step(t, c, start);
    c.revisions[deploying.release.candidate!.revision]!.progressDeadlineExceeded = true;
    const late = step(t, c, deploying);
    expect(late.release.phase).toBe('RollingBack');
    expect(late.release.reason).toMatch(/did not become ready within 60 s/);
  });

  it('without trafficRouting, setWeight scales the two revisions per the split behind the stable Service', () => {
    const t = canaryTarget([{ setWeight: 50 }, { pause: {} }]);
    const c = new Cluster(t);
    const start = pushed(t, c);
    const prog = inProgressing(t, c, start);
    expect(prog.release.phase).toBe('Progressing');
    const { stable, candidate } = prog.release;
    // Without a router the canary Service selects the canary revision from the start.
    expect(c.selectors['api-canary']?.[rev]).toBe(candidate!.revision);

    const asked = step(t, c, prog);
    expect(asked.commands).toEqual([{ type: 'SetWeight', weight: 50, headerRoute: null }]);
    expect(c.revisions[candidate!.revision]?.desired).toBe(2);
    expect(c.revisions[stable!.revision]?.desired).toBe(1);
    expect(c.selectors.api).toEqual({ [name]: 'api' });

    const done = step(t, c, asked);
    expect(done.release.canary).toMatchObject({ step: 1, weight: 50 });
    expect(done.release.reason).toBe('weight 50 in force (achieved 67% by replica ratio)');
    const paused = step(t, c, done);
    expect(paused.release.phase).toBe('AwaitingPromotion');
    expect(c.violations()).toEqual([]);
  });

  it('without trafficRouting, abort scales stable back up before the stable Service narrows to it, then Aborted', () => {
    const t = canaryTarget([{ setWeight: 50 }, { pause: {} }]);
    const c = new Cluster(t);
    const paused = until(t, c, inProgressing(t, c, pushed(t, c)), (r) => r.phase === 'Progressing');
    expect(paused.release.phase).toBe('AwaitingPromotion');
    const { stable, candidate } = paused.release;
    expect(c.revisions[stable!.revision]?.desired).toBe(1);
    const out = control(t, 'abort', paused);

    const end = until(t, c, out, (r) => r.phase === 'RollingBack');
    expect(end.release.phase).toBe('Aborted');
    expect(end.release.cleanup).toMatchObject({ deployment: candidate!.deployment, action: 'scale-down' });
    const at = (x: Command) => end.commands.findIndex((y) => JSON.stringify(y) === JSON.stringify(x));
    const up = at({ type: 'ScaleRevision', deployment: stable!.deployment, replicas: 3 });
    const narrow = at({ type: 'SelectRevision', service: 'api', revision: stable!.revision });
    expect(up).toBeGreaterThanOrEqual(0);
    expect(narrow).toBeGreaterThan(up);
    expect(end.commands).toContainEqual({
      type: 'SelectRevision',
      service: 'api-canary',
      revision: stable!.revision,
    });
    expect(end.commands.filter((x) => x.type === 'MoveHpa')).toEqual([]);
    expect(c.selectors.api?.[rev]).toBe(stable!.revision);
    expect(end.workload).toMatchObject({ inFlight: null, stable });
    expect(c.violations()).toEqual([]);
  });
});
