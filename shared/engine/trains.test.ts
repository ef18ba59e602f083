// Release trains in the engine (trains.ts): a member waits in AwaitingDependencies, its candidate up,
// until each dependency's release of its version has switched; a dependency that ends without
// switching aborts it before it takes traffic. Stepped on the hand-stepped cluster with the
// dependencies' releases as the runtime reads them.
import { describe, expect, it } from 'vitest';
import type { DependencyRelease, Observation } from './kernel.ts';
import { blueGreenTarget, canaryTarget, digest, pushImage } from './model/fixtures.ts';
import { Cluster, drive, step } from './model/hand-cluster.ts';
import { emptyWorkload, type Release, type Workload } from './release.ts';
import type { EngineTarget } from './target.ts';
import { defaultDependsOnWaitSeconds } from './trains.ts';

/** The cluster, and what the runtime read of the dependencies' releases of the version. */
class TrainCluster extends Cluster {
  dependencies: DependencyRelease[] = [];
  override observe(): Observation {
    return { ...super.observe(), dependencies: this.dependencies };
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
    expect(waiting.release.reason).toBe('waiting for backend-7 (Switching) (release train v2)');
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
