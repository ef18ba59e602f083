// Release trains in the engine (trains.ts): a member waits in AwaitingDependencies, its candidate up,
// until each dependency's release of its version has switched; a dependency that ends without
// switching aborts it before it takes traffic. Stepped on the hand-stepped cluster with the
// dependencies' releases as the runtime reads them.
import { describe, expect, it } from 'vitest';
import type { DependencyRelease, DependentRelease, Observation } from './kernel.ts';
import { blueGreenTarget, canaryTarget, digest, pushImage } from './model/fixtures.ts';
import { Cluster, drive, step } from './model/hand-cluster.ts';
import { emptyWorkload, type Release, type Workload } from './release.ts';
import type { EngineTarget } from './target.ts';
import { defaultDependsOnWaitSeconds, trainBackstopMs, wakesTrain } from './trains.ts';

/** The cluster, and what the runtime read of the dependencies' releases of the version. */
class TrainCluster extends Cluster {
  dependencies: DependencyRelease[] = [];
  dependents: DependentRelease[] = [];
  override observe(): Observation {
    return { ...super.observe(), dependencies: this.dependencies, dependents: this.dependents };
  }
}

const backend = (phase: Release['phase'] | null, reason: string | null = null): DependencyRelease => ({
  target: 'backend',
  release: phase ? { id: 'backend-7', phase, switchedAt: phase === 'Succeeded' ? 1 : null, reason } : null,
});

/** v1 adopted and serving, then v2 (tag v2) pushed: the release Pending. */
function pushed(t: EngineTarget, c: TrainCluster): { release: Release; workload: Workload; now: number } {
  const first = pushImage(t, digest('1'), emptyWorkload('api'), 0);
  c.dependencies = [backend('Succeeded')];
  const adopted = drive(t, c, first.release, first.workload, 0);
  expect(adopted.release.phase).toBe('Succeeded');
  const now = adopted.now + 1000;
  const next = pushImage(t, digest('2'), adopted.workload, now);
  return { release: next.release, workload: next.workload, now };
}

/** Steps at each wake-up while `go` holds (at most `max`). */
function until(
  t: EngineTarget,
  c: Cluster,
  at: { release: Release; workload: Workload; now: number },
  go: (r: Release) => boolean,
  max = 60,
) {
  let { release: r, workload: w, now } = at;
  for (let i = 0; i < max && r.wake && go(r); i++) {
    now = Math.max(now, r.wake.at);
    ({ release: r, workload: w } = step(t, c, r, w, now));
  }
  return { release: r, workload: w, now };
}

const member = () => blueGreenTarget({}, { dependsOn: ['backend'] });

describe('release trains: awaitingDependencies', () => {
  it('waits with its candidate up while the dependency is in flight, then runs its checks and switches', () => {
    const t = member();
    const c = new TrainCluster(t);
    const at = pushed(t, c);
    c.dependencies = [backend('Switching')];
    const waiting = until(t, c, at, (r) => r.phase !== 'AwaitingDependencies');
    expect(waiting.release.phase).toBe('AwaitingDependencies');
    expect(waiting.release.reason).toBe('waiting for backend-7 (release train v2)');
    expect(waiting.release.switchedAt).toBeNull();
    const candidate = waiting.release.candidate!;
    expect(c.revisions[candidate.revision]?.ready).toBe(3);
    // Still waiting on later looks, without a history entry for each.
    const later = until(t, c, waiting, () => true, 5);
    expect(later.release.phase).toBe('AwaitingDependencies');
    expect(later.release.history.length).toBe(waiting.release.history.length);

    c.dependencies = [backend('ScalingDown')];
    const done = drive(t, c, later.release, later.workload, later.now);
    expect(done.release.phase).toBe('Succeeded');
    // DeployingGreen -> AwaitingDependencies -> PrePromotionAnalysis: the checks run after the wait.
    const phases = done.release.history.map((h) => h.to);
    expect(phases.indexOf('PrePromotionAnalysis')).toBeGreaterThan(phases.indexOf('AwaitingDependencies'));
    expect(phases.indexOf('AwaitingDependencies')).toBeGreaterThan(phases.indexOf('DeployingGreen'));
    expect(c.selectors.api?.['switchyard.dev/revision']).toBe(candidate.revision);
  });

  it('looks again by itself only every trainBackstopMs (the train wakes it), sooner when a wait for a missing release ends', () => {
    const t = member();
    const c = new TrainCluster(t);
    const at = pushed(t, c);
    c.dependencies = [backend('PrePromotionAnalysis')];
    const waiting = until(t, c, at, (r) => r.phase !== 'AwaitingDependencies');
    expect(waiting.release.wake!.at - waiting.now).toBe(trainBackstopMs);
    // No release of the dependency yet: the look comes when the wait for one is over.
    c.dependencies = [backend(null)];
    const nearEnd = waiting.release.createdAt + defaultDependsOnWaitSeconds * 1000 - 3000;
    const late = step(t, c, waiting.release, waiting.workload, nearEnd);
    expect(late.release.wake!.at).toBe(waiting.release.createdAt + defaultDependsOnWaitSeconds * 1000);
  });

  it('wakesTrain: the transitions the other members act on', () => {
    expect(wakesTrain('PostPromotionAnalysis', 'ScalingDown')).toBe(true);
    expect(wakesTrain('Switching', 'RollingBack')).toBe(true);
    expect(wakesTrain('RollingBack', 'Aborted')).toBe(true);
    expect(wakesTrain('ScalingDown', 'Succeeded')).toBe(true);
    expect(wakesTrain(null, 'Pending')).toBe(true);
    expect(wakesTrain('DeployingGreen', 'AwaitingDependencies')).toBe(false);
    expect(wakesTrain('ScalingDown', 'ScalingDown')).toBe(false);
  });

  it('a dependency that rolled back aborts it before it takes traffic, with the cause', () => {
    const t = member();
    const c = new TrainCluster(t);
    const at = pushed(t, c);
    c.dependencies = [backend('PostPromotionAnalysis')];
    const waiting = until(t, c, at, (r) => r.phase !== 'AwaitingDependencies');
    c.dependencies = [backend('RolledBack', 'post-promotion analysis failed: error-rate')];
    const done = drive(t, c, waiting.release, waiting.workload, waiting.now);
    expect(done.release.phase).toBe('Aborted');
    expect(done.release.reason).toBe(
      'aborted: dependency backend-7 RolledBack: post-promotion analysis failed: error-rate',
    );
    expect(done.release.switchedAt).toBeNull();
    expect(c.selectors.api?.['switchyard.dev/revision']).toBe(done.release.stable!.revision);
  });

  it('a dependency that fails aborts it at once, also while its own candidate is still coming up', () => {
    const t = member();
    const c = new TrainCluster(t);
    const at = pushed(t, c);
    c.dependencies = [backend('DeployingGreen')];
    c.instant = false; // the candidate's pods never get ready
    const deploying = until(t, c, at, (r) => r.phase !== 'DeployingGreen', 5);
    expect(deploying.release.phase).toBe('DeployingGreen');
    c.dependencies = [backend('RollingBack', 'pre-promotion analysis failed: error-rate')];
    const done = drive(t, c, deploying.release, deploying.workload, deploying.now);
    expect(done.release.phase).toBe('Aborted');
    expect(done.release.reason).toBe(
      'aborted: dependency backend-7 RollingBack: pre-promotion analysis failed: error-rate',
    );
    // Long before its progress deadline would have ended it.
    expect(done.now - at.now).toBeLessThan(t.spec.progressDeadlineSeconds * 1000);
  });

  it('a dependency with no release of the version is waited for dependsOnWaitSeconds, then counts as unchanged', () => {
    const t = member();
    t.spec.dependsOnWaitSeconds = 20;
    const c = new TrainCluster(t);
    const at = pushed(t, c);
    c.dependencies = [backend(null)];
    const waiting = until(t, c, at, (r) => r.phase !== 'AwaitingDependencies');
    expect(waiting.release.reason).toBe('waiting for a release of backend (release train v2)');
    const done = drive(t, c, waiting.release, waiting.workload, waiting.now);
    expect(done.release.phase).toBe('Succeeded');
    expect(done.release.switchedAt! - done.release.createdAt).toBeGreaterThanOrEqual(20_000);
    expect(defaultDependsOnWaitSeconds).toBe(300);
  });

  it('a canary member starts its first weight step only once its dependency switched', () => {
    const t = canaryTarget([{ setWeight: 20 }, { pause: {} }]);
    t.spec.dependsOn = ['backend'];
    const c = new TrainCluster(t);
    const at = pushed(t, c);
    c.dependencies = [backend('Progressing')];
    const waiting = until(t, c, at, (r) => r.phase !== 'AwaitingDependencies');
    expect(waiting.release.phase).toBe('AwaitingDependencies');
    expect(waiting.release.canary).toBeNull();
    c.dependencies = [backend('Succeeded')];
    const paused = drive(t, c, waiting.release, waiting.workload, waiting.now);
    expect(paused.release.phase).toBe('AwaitingPromotion');
    expect(paused.release.canary?.weight).toBe(20);
  });
});

/** What a switched backend sees of the frontend that depends on it. */
const frontend = (
  phase: Release['phase'] | null,
  flags: Partial<Pick<DependentRelease, 'rollbackTrain' | 'holds'>> = {},
  reason: string | null = null,
): DependentRelease => ({
  target: 'frontend',
  rollbackTrain: flags.rollbackTrain ?? true,
  holds: flags.holds ?? flags.rollbackTrain ?? true,
  waitSeconds: 60,
  release: phase ? { id: 'frontend-4', phase, reason, trainRollback: false } : null,
});

describe('release trains: a switched dependency (trainAfterSwitch)', () => {
  /** The backend's release of v2, stepped until it is in ScalingDown past its scale-down delay. */
  function switchedBackend(c: TrainCluster, t: EngineTarget) {
    const at = pushed(t, c);
    const scaling = until(t, c, at, (r) => r.phase !== 'ScalingDown');
    expect(scaling.release.phase).toBe('ScalingDown');
    return until(t, c, scaling, () => true, 3);
  }
  const backendTarget = () => blueGreenTarget();

  it('keeps its old revision warm past the scale-down delay while a dependent that can send it back is in flight', () => {
    const t = backendTarget();
    const c = new TrainCluster(t);
    c.dependents = [frontend('PrePromotionAnalysis')];
    const held = switchedBackend(c, t);
    expect(held.release.phase).toBe('ScalingDown');
    expect(held.now - held.release.switchedAt!).toBeGreaterThan(30_000);
    expect(held.release.reason).toBe(
      `keeping ${held.release.stable!.deployment} warm for release train v2: frontend-4 may still roll back`,
    );
    expect(c.revisions[held.release.stable!.revision]?.ready).toBe(3);

    c.dependents = [frontend('Succeeded')];
    const done = drive(t, c, held.release, held.workload, held.now);
    expect(done.release.phase).toBe('Succeeded');
    expect(c.revisions[held.release.stable!.revision]?.desired ?? 0).toBe(0);
  });

  it('goes back to its old revision, by a traffic switch, once a dependent with rollbackTrain rolled back', () => {
    const t = backendTarget();
    const c = new TrainCluster(t);
    c.dependents = [frontend('PostPromotionAnalysis')];
    const held = switchedBackend(c, t);
    const old = held.release.stable!;
    c.dependents = [frontend('RolledBack', {}, 'post-promotion analysis failed: error-rate')];
    const done = drive(t, c, held.release, held.workload, held.now);
    expect(done.release.phase).toBe('RolledBack');
    expect(done.release.trainRollback).toBe('frontend-4');
    expect(done.release.reason).toBe(
      'release train v2 rolled back: frontend-4 RolledBack: post-promotion analysis failed: error-rate',
    );
    expect(c.selectors.api?.['switchyard.dev/revision']).toBe(old.revision);
    expect(done.workload.stable?.revision).toBe(old.revision);
  });

  it('a dependent sent back by the train sends it back too, though it has no rollbackTrain of its own', () => {
    const t = backendTarget();
    const c = new TrainCluster(t);
    c.dependents = [frontend('ScalingDown', { rollbackTrain: false, holds: true })];
    const held = switchedBackend(c, t);
    expect(held.release.phase).toBe('ScalingDown');
    const sentBack = frontend(
      'RolledBack',
      { rollbackTrain: false, holds: true },
      'release train v2 rolled back',
    );
    c.dependents = [{ ...sentBack, release: { ...sentBack.release!, trainRollback: true } }];
    const done = drive(t, c, held.release, held.workload, held.now);
    expect(done.release.phase).toBe('RolledBack');
  });

  it('without rollbackTrain downstream, a dependent neither holds it nor sends it back', () => {
    const t = backendTarget();
    const c = new TrainCluster(t);
    c.dependents = [frontend('PrePromotionAnalysis', { rollbackTrain: false })];
    const at = pushed(t, c);
    const done = drive(t, c, at.release, at.workload, at.now);
    expect(done.release.phase).toBe('Succeeded');
    expect(done.release.switchedAt! + 30_000).toBeLessThanOrEqual(done.release.updatedAt);
  });

  it('a dependent with no release yet is waited for its dependsOnWaitSeconds after the switch', () => {
    const t = backendTarget();
    const c = new TrainCluster(t);
    c.dependents = [frontend(null)];
    const at = pushed(t, c);
    const scaling = until(t, c, at, (r) => r.phase !== 'ScalingDown');
    const done = drive(t, c, scaling.release, scaling.workload, scaling.now);
    expect(done.release.phase).toBe('Succeeded');
    const held = done.release.history.find((h) => h.reason?.includes('may still roll back'));
    expect(held?.reason).toContain('a release of frontend may still roll back');
    expect(done.release.updatedAt - done.release.switchedAt!).toBeGreaterThanOrEqual(60_000);
  });
});
