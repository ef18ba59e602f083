// The old revision's drain (drain.ts): after the switch, the old revision is held until the drain
// metric says its long-lived connections are gone, at most maxWaitSeconds, instead of the fixed
// scale-down delay; every measurement is kept in the release. Stepped on the hand-stepped cluster.
import { describe, expect, it } from 'vitest';
import type { ProviderResult } from '../analysis/provider.ts';
import type { Observation } from './kernel.ts';
import { blueGreenTarget, canaryTarget, digest, pushImage } from './model/fixtures.ts';
import { Cluster, drive, step } from './model/hand-cluster.ts';
import { emptyWorkload, type Release, type Workload } from './release.ts';
import type { EngineTarget } from './target.ts';

/** The cluster, and the old revision's open connections as the drain metric measures them. */
class DrainCluster extends Cluster {
  connections: number[] = [];
  override observe(): Observation {
    const obs = super.observe();
    const run = this.release?.phase === 'ScalingDown' ? this.release.analysis.drain : null;
    if (!run?.metrics[0]) return obs;
    const measured = run.metrics[0].measurements.length;
    const value = this.connections[Math.min(measured, this.connections.length - 1)] ?? 0;
    const answer: ProviderResult = { kind: 'value', value: [value], noData: false };
    return { ...obs, measurements: { drain: { connections: answer } } };
  }
}

function withDrain(t: EngineTarget, maxWaitSeconds = 120, templateName = 'open-connections'): EngineTarget {
  t.spec.drain = { templates: [{ templateName }], maxWaitSeconds };
  t.spec.analysis = {
    templates: [
      {
        name: 'open-connections',
        metrics: [
          {
            name: 'connections',
            count: 1,
            interval: 10,
            successCondition: 'result[0] < 1',
            failureLimit: 0,
            inconclusiveLimit: 0,
            consecutiveErrorLimit: 4,
            dryRun: false,
            noDataPhase: 'Inconclusive',
            provider: { kind: 'prometheus', config: { query: 'conns{rev="{{release.blueRevision}}"}' } },
          },
        ],
      },
    ],
  };
  return t;
}

/** v1 adopted and serving, then v2 pushed and stepped until it switched. */
function switched(t: EngineTarget, c: DrainCluster): { release: Release; workload: Workload; now: number } {
  const first = pushImage(t, digest('1'), emptyWorkload('api'), 0);
  const adopted = drive(t, c, first.release, first.workload, 0);
  let now = adopted.now + 1000;
  let { release: r, workload: w } = pushImage(t, digest('2'), adopted.workload, now);
  for (let i = 0; i < 60 && r.phase !== 'ScalingDown'; i++) {
    now = Math.max(now, r.wake!.at);
    ({ release: r, workload: w } = step(t, c, r, w, now));
  }
  expect(r.phase).toBe('ScalingDown');
  return { release: r, workload: w, now };
}

const oldReplicas = (c: Cluster, r: Release) => c.revisions[r.stable!.revision]?.desired;

describe('drain: the old revision held until its connections are gone', () => {
  it('holds the old revision while connections stay open, then scales it down once the metric says drained', () => {
    const t = withDrain(blueGreenTarget({ scaleDownDelaySeconds: 30 }));
    const c = new DrainCluster(t);
    c.connections = [7, 3, 0];
    const at = switched(t, c);
    const switchedAt = at.release.switchedAt!;
    const held = drive(t, c, at.release, at.workload, at.now, 2);
    expect(held.release.phase).toBe('ScalingDown');
    expect(held.release.reason).toBe(
      `holding ${at.release.stable!.deployment} until it has drained (at most 120 s)`,
    );
    expect(oldReplicas(c, held.release)).toBe(3);
    const done = drive(t, c, held.release, held.workload, held.now);
    expect(done.release.phase).toBe('Succeeded');
    expect(oldReplicas(c, done.release)).toBe(0);
    // Measured three times, 10 s apart: scaled down at the third, without the 30 s delay.
    const run = done.release.analysis.drain!;
    expect(run.phase).toBe('Successful');
    expect(run.metrics[0]!.measurements.map((m) => m.value)).toEqual([[7], [3], [0]]);
    const drained = done.release.history.find((h) => h.reason?.includes('drained after'));
    expect(drained?.reason).toBe(`${at.release.stable!.deployment} drained after 20 s: connections = [0]`);
    const scaled = c.issued.find((i) => i.command.type === 'ScaleRevision' && i.command.replicas === 0);
    expect(scaled).toBeDefined();
    expect(done.release.updatedAt - switchedAt).toBeLessThan(30_000);
  });

  it('scales the old revision down after maxWaitSeconds when it never drains, recording the last value', () => {
    const t = withDrain(blueGreenTarget(), 60);
    const c = new DrainCluster(t);
    c.connections = [4];
    const at = switched(t, c);
    const done = drive(t, c, at.release, at.workload, at.now);
    expect(done.release.phase).toBe('Succeeded');
    const run = done.release.analysis.drain!;
    expect(run.phase).toBe('Inconclusive');
    expect(run.finishedAt! - run.startedAt).toBe(60_000);
    expect(run.metrics[0]!.measurements.length).toBe(7);
    const reason = done.release.history.find((h) => h.reason?.includes('not drained'))?.reason;
    expect(reason).toBe(
      `${at.release.stable!.deployment} not drained within 60 s (connections = [4]): scaling it down`,
    );
    // Held the whole wait: the old revision was scaled down only at its end.
    expect(done.release.updatedAt - run.startedAt).toBeGreaterThanOrEqual(60_000);
  });

  it('a drain whose template does not resolve holds the old revision for the whole wait, saying why', () => {
    const t = withDrain(blueGreenTarget(), 45, 'missing');
    const c = new DrainCluster(t);
    const at = switched(t, c);
    const held = drive(t, c, at.release, at.workload, at.now, 2);
    expect(held.release.phase).toBe('ScalingDown');
    expect(oldReplicas(c, held.release)).toBe(3);
    const done = drive(t, c, held.release, held.workload, held.now);
    expect(done.release.phase).toBe('Succeeded');
    const reason = done.release.history.find((h) => h.reason?.includes('not drained'))?.reason ?? '';
    expect(reason).toContain('not drained within 45 s');
    expect(reason).toContain('"missing"');
    expect(done.release.analysis.drain!.finishedAt! - done.release.analysis.drain!.startedAt).toBe(45_000);
  });

  it('a canary holds its old stable revision the same way', () => {
    const t = withDrain(canaryTarget([{ setWeight: 50 }]));
    const c = new DrainCluster(t);
    c.connections = [2, 0];
    const at = switched(t, c);
    const done = drive(t, c, at.release, at.workload, at.now);
    expect(done.release.phase).toBe('Succeeded');
    expect(done.release.analysis.drain!.metrics[0]!.measurements).toHaveLength(2);
  });

  it('without a drain, the fixed scale-down delay still applies', () => {
    const t = blueGreenTarget({ scaleDownDelaySeconds: 30 });
    const c = new DrainCluster(t);
    const at = switched(t, c);
    const done = drive(t, c, at.release, at.workload, at.now);
    expect(done.release.phase).toBe('Succeeded');
    expect(done.release.analysis.drain ?? null).toBeNull();
    expect(done.release.updatedAt - at.release.switchedAt!).toBeGreaterThanOrEqual(30_000);
  });
});
