import { describe, expect, it } from 'vitest';
import type { ProviderResult } from '../analysis/provider.ts';
import { greenTemplate, revisionOf } from '../kubernetes/revision.ts';
import type { EndpointCounts, RevisionStatus, WorkloadSnapshot } from '../kubernetes/types.ts';
import type { Command } from './commands.ts';
import { decideControl } from './control.ts';
import { decideStep } from './decide.ts';
import { decidePush, parsePush } from './intake.ts';
import { advance, type Decision, type Observation } from './kernel.ts';
import {
  blueGreenTarget,
  controlMessage,
  digest,
  podTemplate,
  pushedRelease,
  pushImage,
  repo,
} from './model/fixtures.ts';
import { emptyWorkload, type PodTemplate, type Release, type Workload } from './release.ts';
import type { EngineTarget } from './target.ts';

const v1 = digest('1');
const v2 = digest('2');

/** A little cluster the tests change by hand and observe like the step functions do. */
class FakeCluster {
  plain: WorkloadSnapshot['plainDeployment'] = { name: 'api', replicas: 3, template: podTemplate(v1) };
  revisions: WorkloadSnapshot['revisions'] = {};
  selectors: Record<string, Record<string, string> | null> = { api: { 'app.kubernetes.io/name': 'api' } };

  observe(): Observation {
    const endpoints: Record<string, EndpointCounts> = {};
    for (const [service, selector] of Object.entries(this.selectors)) {
      if (!selector) continue;
      const rev = selector['switchyard.dev/revision'];
      const counts: EndpointCounts = { readyByRevision: {}, totalByRevision: {} };
      if (rev) {
        const r = this.revisions[rev];
        counts.readyByRevision[rev] = r?.ready ?? 0;
        counts.totalByRevision[rev] = r?.desired ?? 0;
      } else {
        counts.readyByRevision[''] = this.plain?.replicas ?? 0;
        counts.totalByRevision[''] = this.plain?.replicas ?? 0;
      }
      endpoints[service] = counts;
    }
    return {
      snapshot: {
        plainDeployment: this.plain,
        revisions: structuredClone(this.revisions),
        services: Object.fromEntries(
          Object.entries(this.selectors).map(([k, v]) => [k, v ? { selector: v } : null]),
        ),
      },
      endpoints,
    };
  }

  /** Applies commands; pods become ready at once unless `ready` says otherwise. */
  apply(commands: Command[], ready = true): void {
    for (const c of commands) {
      switch (c.type) {
        case 'EnsureRevision': {
          const name = `api-${c.spec.revision}`;
          this.revisions[c.spec.revision] = status(
            name,
            c.spec.replicas,
            ready ? c.spec.replicas : 0,
            c.spec.template,
          );
          break;
        }
        case 'ScaleRevision': {
          const r = Object.values(this.revisions).find((x) => x.name === c.deployment)!;
          r.desired = c.replicas;
          r.ready = ready ? c.replicas : Math.min(r.ready, c.replicas);
          break;
        }
        case 'ScalePlainDeployment':
          this.plain = { ...this.plain!, replicas: c.replicas };
          break;
        case 'SelectRevision':
          this.selectors[c.service] = {
            'app.kubernetes.io/name': 'api',
            'switchyard.dev/revision': c.revision,
          };
          break;
        case 'DeleteRevision':
          for (const [k, v] of Object.entries(this.revisions))
            if (v.name === c.deployment) delete this.revisions[k];
          break;
        case 'MoveHpa':
          break;
      }
    }
  }
}

function status(
  name: string,
  desired: number,
  ready: number,
  tpl: PodTemplate,
): RevisionStatus & { revision: string; template: PodTemplate } {
  return {
    name,
    revision: name.slice(4),
    exists: true,
    desired,
    ready,
    available: ready,
    progressDeadlineExceeded: false,
    images: {},
    template: tpl,
  };
}

/** Runs steps (each at `now += stepMs`) until the release waits for a human, ends, or `max` steps. */
function drive(
  t: EngineTarget,
  cluster: FakeCluster,
  release: Release,
  workload: Workload,
  start: number,
  ready = true,
  measure: (r: Release) => Observation['measurements'] = () => ({}),
) {
  let r = release;
  let w = workload;
  let now = start;
  const all: Command[] = [];
  for (let i = 0; i < 200 && r.wake; i++) {
    now = Math.max(now, r.wake.at);
    const d: Decision = decideStep(
      t,
      r,
      w,
      { type: 'step', step: r.wake.step, observation: { ...cluster.observe(), measurements: measure(r) } },
      now,
    );
    cluster.apply(d.commands, ready);
    all.push(...d.commands);
    r = d.release;
    w = d.workload;
  }
  return { release: r, workload: w, commands: all, now };
}

describe('blue-green decide()', () => {
  it('adopts a plain Deployment, then releases v2: switch after ready, blue scaled to zero after the delay', () => {
    const t = blueGreenTarget();
    const cluster = new FakeCluster();
    const started = pushImage(t, v2, emptyWorkload('api'), 0);
    const end = drive(t, cluster, started.release, started.workload, 0);

    expect(end.release.phase).toBe('Succeeded');
    const r0 = revisionOf(podTemplate(v1));
    const r2 = revisionOf(greenTemplate(podTemplate(v1), v2, undefined, repo));
    expect(end.workload.stable?.revision).toBe(r2);
    expect(end.workload.previous[0]?.revision).toBe(r0);
    expect(cluster.selectors.api?.['switchyard.dev/revision']).toBe(r2);
    expect(cluster.plain?.replicas).toBe(0);
    expect(cluster.revisions[r0]?.desired).toBe(0);
    expect(cluster.revisions[r2]?.desired).toBe(3);
    // Blue is scaled down only once the delay has passed after the switch.
    expect(end.now - (end.release.switchedAt ?? 0)).toBeGreaterThanOrEqual(30_000);
    expect(end.release.history.map((h) => h.to)).toEqual(
      expect.arrayContaining([
        'Adopting',
        'DeployingGreen',
        'PrePromotionAnalysis',
        'Switching',
        'ScalingDown',
        'Succeeded',
      ]),
    );
    expect(end.workload.inFlight).toBeNull();
  });

  it('waits in AwaitingPromotion with the preview Service on green at previewReplicaCount, then promote switches', () => {
    const t = blueGreenTarget({
      autoPromotionEnabled: false,
      previewService: 'api-preview',
      previewReplicaCount: 1,
    });
    const cluster = new FakeCluster();
    cluster.selectors['api-preview'] = { 'app.kubernetes.io/name': 'api' };
    const started = pushImage(t, v2, emptyWorkload('api'), 0);
    const paused = drive(t, cluster, started.release, started.workload, 0);
    expect(paused.release.phase).toBe('AwaitingPromotion');
    const green = paused.release.candidate!;
    expect(cluster.selectors['api-preview']?.['switchyard.dev/revision']).toBe(green.revision);
    expect(cluster.revisions[green.revision]?.desired).toBe(1);
    expect(cluster.selectors.api?.['switchyard.dev/revision']).toBe(paused.release.stable!.revision);

    const promoted = decideControl(
      t,
      controlMessage('promote', 'req-00000001'),
      paused.release,
      paused.workload,
      [paused.release],
      paused.now + 1000,
    );
    expect(promoted.kind).toBe('applied');
    if (promoted.kind !== 'applied') return;
    expect(promoted.release.phase).toBe('Switching');
    const end = drive(t, cluster, promoted.release, promoted.workload, paused.now + 1000);
    expect(end.release.phase).toBe('Succeeded');
    expect(cluster.revisions[green.revision]?.desired).toBe(3);
    expect(cluster.selectors.api?.['switchyard.dev/revision']).toBe(green.revision);
  });

  it('rolls back when green never becomes ready: the active Service never leaves blue', () => {
    const t = blueGreenTarget();
    const cluster = new FakeCluster();
    const first = pushImage(t, digest('3'), emptyWorkload('api'), 0);
    const adopted = drive(t, cluster, first.release, first.workload, 0);
    expect(adopted.release.phase).toBe('Succeeded');
    const blue = adopted.workload.stable!;
    const next = pushImage(t, v2, adopted.workload, adopted.now + 1000);
    const end = drive(t, cluster, next.release, next.workload, adopted.now + 1000, false);
    expect(end.release.phase).toBe('RolledBack');
    expect(end.release.reason).toMatch(/did not become ready within 60 s/);
    expect(cluster.selectors.api?.['switchyard.dev/revision']).toBe(blue.revision);
    expect(cluster.revisions[blue.revision]?.desired).toBe(3);
    expect(
      end.commands.filter((c) => c.type === 'ScaleRevision' && c.deployment === blue.deployment),
    ).toEqual([]);
    expect(cluster.revisions[end.release.candidate!.revision]).toBeUndefined();
    expect(end.workload.stable).toEqual(blue);
  });

  it('fails with a clear reason when the active Service is missing, and changes nothing', () => {
    const t = blueGreenTarget();
    const cluster = new FakeCluster();
    cluster.selectors = { api: null };
    const started = pushImage(t, v2, emptyWorkload('api'), 0);
    const end = drive(t, cluster, started.release, started.workload, 0);
    expect(end.release.phase).toBe('Failed');
    expect(end.release.reason).toMatch(/Service "api" not found in namespace "shop"/);
    expect(end.commands).toEqual([]);
  });

  it('refuses promote on a Succeeded release, naming it', () => {
    const t = blueGreenTarget();
    const r = {
      ...pushedRelease(v2),
      phase: 'Succeeded' as const,
    };
    const out = decideControl(t, controlMessage('promote', 'req-00000002'), r, emptyWorkload('api'), [], 1);
    expect(out).toMatchObject({ kind: 'refused', reason: 'promote: release api-1 is Succeeded' });
  });

  it('ignores pushes that must not release, with the reason', () => {
    const t = blueGreenTarget({});
    t.spec.image.tagFilter = '^v\\d+$';
    const w = emptyWorkload('api');
    const ignored = (msg: Parameters<typeof parsePush>[0]) => {
      const p = parsePush(msg);
      return typeof p === 'string' ? p : (decidePush(t, p, 'm', w, [], 0) as { reason?: string }).reason;
    };
    expect(ignored({ action: 'DELETE', tag: `${repo}:v1` })).toMatch(/DELETE is not released/);
    expect(ignored({ action: 'INSERT', digest: v2 })).toMatch(/untagged push .* ignored/);
    expect(ignored({ action: 'INSERT', digest: v2, tag: `${repo}:latest` })).toMatch(
      /does not match tagFilter/,
    );
    expect(ignored({ action: 'INSERT', tag: `${repo}:v1` })).toMatch(/deploys by digest only/);
  });

  it('supersedes a release waiting for promotion; its green is deleted later, never the stable one', () => {
    const t = blueGreenTarget({ autoPromotionEnabled: false });
    const cluster = new FakeCluster();
    const first = pushImage(t, v2, emptyWorkload('api'), 0);
    const paused = drive(t, cluster, first.release, first.workload, 0);
    expect(paused.release.phase).toBe('AwaitingPromotion');
    const v3 = digest('3');
    const second = pushImage(t, v3, paused.workload, paused.now + 1, [paused.release]);
    expect(second.superseded).toHaveLength(1);
    const old = second.superseded[0]!;
    expect(old.phase).toBe('Superseded');
    expect(old.cleanup).toMatchObject({ deployment: paused.release.candidate!.deployment, action: 'delete' });
    expect(second.workload.inFlight).toBe(second.release.id);
    expect(second.workload.inFlightCandidate).toBeNull();
    // Removed after abortScaleDownDelaySeconds, scaled to zero first (the delete needs it).
    expect(old.cleanup?.at).toBe(paused.now + 1 + 30_000);
    const cleaned = decideStep(
      t,
      old,
      second.workload,
      { type: 'step', step: 'rollback', observation: cluster.observe() },
      paused.now + 1 + 30_000,
    );
    expect(cleaned.commands).toEqual([
      { type: 'ScaleRevision', deployment: paused.release.candidate!.deployment, replicas: 0 },
      { type: 'DeleteRevision', deployment: paused.release.candidate!.deployment },
    ]);
  });

  describe('with analysis', () => {
    const withAnalysis = (which: 'prePromotionAnalysis' | 'postPromotionAnalysis') => {
      const t = blueGreenTarget({ [which]: { templates: [{ templateName: 'errors' }] } });
      t.spec.analysis = {
        templates: [
          {
            name: 'errors',
            metrics: [
              {
                name: 'error-rate',
                count: 2,
                interval: 10,
                successCondition: 'result[0] < 0.05',
                failureLimit: 0,
                inconclusiveLimit: 0,
                consecutiveErrorLimit: 4,
                dryRun: false,
                noDataPhase: 'Inconclusive',
                provider: { kind: 'prometheus', config: { query: 'q{rev="{{release.greenRevision}}"}' } },
              },
            ],
          },
        ],
      };
      return t;
    };
    const answering =
      (v: number) =>
      (_r: Release): Observation['measurements'] => {
        const answer: Record<string, ProviderResult> = {
          'error-rate': { kind: 'value', value: [v], noData: false },
        };
        return { pre: answer, post: answer, background: answer, step: answer };
      };

    it('pre-promotion analysis passes: measured count times, then the switch', () => {
      const t = withAnalysis('prePromotionAnalysis');
      const started = pushImage(t, v2, emptyWorkload('api'), 0);
      const end = drive(t, new FakeCluster(), started.release, started.workload, 0, true, answering(0.01));
      expect(end.release.phase).toBe('Succeeded');
      const run = end.release.analysis.pre!;
      expect(run.phase).toBe('Successful');
      expect(run.metrics[0]!.measurements).toHaveLength(2);
      expect(run.metrics[0]!.spec.provider.config).toEqual({
        query: `q{rev="${end.release.candidate!.revision}"}`,
      });
    });

    it('pre-promotion analysis fails: rolled back before any traffic moved', () => {
      const t = withAnalysis('prePromotionAnalysis');
      const cluster = new FakeCluster();
      const started = pushImage(t, v2, emptyWorkload('api'), 0);
      const end = drive(t, cluster, started.release, started.workload, 0, true, answering(0.5));
      expect(end.release.phase).toBe('RolledBack');
      expect(end.release.switchedAt).toBeNull();
      expect(cluster.selectors.api?.['switchyard.dev/revision']).toBe(end.release.stable!.revision);
    });

    it('post-promotion analysis fails: traffic back on warm blue, which was never scaled down', () => {
      const t = withAnalysis('postPromotionAnalysis');
      const cluster = new FakeCluster();
      const started = pushImage(t, v2, emptyWorkload('api'), 0);
      const end = drive(t, cluster, started.release, started.workload, 0, true, answering(0.5));
      expect(end.release.phase).toBe('RolledBack');
      expect(end.release.switchedAt).not.toBeNull();
      const blue = end.release.stable!;
      expect(cluster.selectors.api?.['switchyard.dev/revision']).toBe(blue.revision);
      expect(
        end.commands.filter(
          (c) => c.type === 'ScaleRevision' && c.deployment === blue.deployment && c.replicas === 0,
        ),
      ).toEqual([]);
    });

    it('an unknown template is a clear failure before anything moves', () => {
      const t = withAnalysis('prePromotionAnalysis');
      t.spec.analysis = { templates: [] };
      const started = pushImage(t, v2, emptyWorkload('api'), 0);
      const end = drive(t, new FakeCluster(), started.release, started.workload, 0);
      expect(end.release.phase).toBe('RolledBack');
      expect(end.release.reason).toMatch(/analysis template "errors" not found/);
    });
  });
});

describe('advance()', () => {
  it('a release that ends its rollback keeps the reason it rolled back for, not the last wait', () => {
    const base = pushedRelease(v2);
    const stable = { revision: 'r1', deployment: 'api-r1', image: 'app@v1' };
    const candidate = { revision: 'r2', deployment: 'api-r2', image: `app@${v2}` };
    const failing = advance({ ...base, phase: 'Progressing', stable, candidate }, 1, {
      phase: 'RollingBack',
      reason: 'background analysis failed: error-rate',
      patch: { rollbackOutcome: 'RolledBack' },
    });
    const waiting = advance(failing, 2, { reason: 'waiting for api-1 to take the traffic back: 2/4 ready' });
    expect(waiting.reason).toMatch(/waiting for/);
    const ended = advance(waiting, 3, { phase: 'RolledBack' });
    expect(ended.reason).toBe('background analysis failed: error-rate');
    // A reason given with the end is kept.
    expect(advance(waiting, 3, { phase: 'RolledBack', reason: 'by hand' }).reason).toBe('by hand');
  });
});
