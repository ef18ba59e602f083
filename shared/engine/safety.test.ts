// The paths that broke SPEC §14's first promise (never take down the revision that serves), each
// reproduced on a small cluster of the engine's own shapes: the engine must not even ask for it.
import { describe, expect, it } from 'vitest';
import { revisionOf } from '../kubernetes/revision.ts';
import type { EndpointCounts, WorkloadSnapshot } from '../kubernetes/types.ts';
import { replicaSplit } from '../routers/service-selector/index.ts';
import type { Command } from './commands.ts';
import { decideControl } from './control.ts';
import { decideStep } from './decide.ts';
import { decidePush, parsePush } from './intake.ts';
import type { Decision, Observation } from './kernel.ts';
import { emptyWorkload, type PodTemplate, type Release, type Workload } from './release.ts';
import type { CanaryStrategy, EngineTarget } from './target.ts';

const repo = 'us-docker.pkg.dev/acme/apps/api';
const digest = (c: string) => `${repo}@sha256:${c.repeat(64)}`;
const name = 'app.kubernetes.io/name';
const rev = 'switchyard.dev/revision';

function blueGreen(extra: Record<string, unknown> = {}): EngineTarget {
  return {
    name: 'api',
    generation: 1,
    spec: {
      image: { repository: repo, untagged: 'ignore' },
      cluster: { context: 'local' },
      namespace: 'shop',
      workload: 'api',
      progressDeadlineSeconds: 60,
      revisionHistoryLimit: 3,
      strategy: {
        blueGreen: {
          activeService: 'api',
          autoPromotionEnabled: true,
          scaleDownDelaySeconds: 30,
          abortScaleDownDelaySeconds: 30,
          ...extra,
        },
      },
    },
  };
}

function canary(steps: CanaryStrategy['steps']): EngineTarget {
  const t = blueGreen();
  t.spec.strategy = {
    canary: {
      stableService: 'api',
      canaryService: 'api-canary',
      steps,
      scaleDownDelaySeconds: 30,
      abortScaleDownDelaySeconds: 30,
    } as CanaryStrategy,
  };
  return t;
}

const template = (image: string): PodTemplate => ({
  metadata: { labels: { [name]: 'api' } },
  spec: { containers: [{ name: 'api', image }] },
});

type Rev = WorkloadSnapshot['revisions'][string];

/** Services, revisions and pods; pods get ready only when `settle()` is called (or at once with `instant`). */
class Cluster {
  plain: { replicas: number; ready: number } | null = { replicas: 3, ready: 3 };
  revisions: Record<string, Rev> = {};
  selectors: Record<string, Record<string, string>> = { api: { [name]: 'api' } };
  /** Revisions whose endpoints a Service still lists after its selector moved away. */
  lagging: Record<string, Set<string>> = {};
  instant = true;
  /** Keep `lagging` across steps (else it clears after one observation, as EndpointSlices catch up). */
  pinLag = false;
  /** Every command issued, with what the cluster looked like when it was. */
  issued: { command: Command; before: Observation }[] = [];

  private readonly t: EngineTarget;
  constructor(t: EngineTarget) {
    this.t = t;
  }

  private selects(selector: Record<string, string>, revision: string): boolean {
    return selector[rev] === undefined || selector[rev] === revision;
  }

  observe(): Observation {
    const endpoints: Record<string, EndpointCounts> = {};
    for (const [service, selector] of Object.entries(this.selectors)) {
      const counts: EndpointCounts = { readyByRevision: {}, totalByRevision: {} };
      for (const r of Object.values(this.revisions)) {
        if (!this.selects(selector, r.revision) && !this.lagging[service]?.has(r.revision)) continue;
        counts.readyByRevision[r.revision] = r.ready;
        counts.totalByRevision[r.revision] = r.desired;
      }
      if (selector[rev] === undefined && this.plain) {
        counts.readyByRevision[''] = this.plain.ready;
        counts.totalByRevision[''] = this.plain.replicas;
      }
      endpoints[service] = counts;
    }
    const route = this.routeState(endpoints.api);
    return {
      ...(route ? { route } : {}),
      snapshot: {
        plainDeployment: this.plain
          ? { name: 'api', replicas: this.plain.replicas, template: template(digest('1')) }
          : null,
        revisions: structuredClone(this.revisions),
        services: Object.fromEntries(Object.entries(this.selectors).map(([k, v]) => [k, { selector: v }])),
      },
      endpoints,
    };
  }

  /** The replica-ratio router's read-back: the canary's share of the stable Service's ready endpoints. */
  private routeState(stable: EndpointCounts | undefined): Observation['route'] {
    const r = this.release;
    if (!this.t.spec.strategy.canary || !r?.green || !r.blue || !stable) return undefined;
    const g = stable.readyByRevision[r.green.revision] ?? 0;
    const b = stable.readyByRevision[r.blue.revision] ?? 0;
    const all = Object.values(this.revisions).every((x) => x.ready === x.desired);
    return {
      weight: g + b > 0 ? Math.round((100 * g) / (g + b)) : 0,
      headerRoute: null,
      accepted: all && g + b > 0,
    };
  }

  settle(): void {
    for (const r of Object.values(this.revisions)) r.ready = r.desired;
    if (this.plain) this.plain.ready = this.plain.replicas;
    this.lagging = {};
  }

  private scale(deployment: string, replicas: number): void {
    const r = Object.values(this.revisions).find((x) => x.name === deployment);
    if (!r) return;
    r.desired = replicas;
    r.ready = this.instant ? replicas : Math.min(r.ready, replicas);
  }

  private select(service: string, selector: Record<string, string>): void {
    const before = this.selectors[service];
    if (before?.[rev]) {
      this.lagging[service] = this.lagging[service] ?? new Set();
      this.lagging[service].add(before[rev]);
    }
    this.selectors[service] = selector;
  }

  apply(commands: Command[]): void {
    const before = this.observe();
    for (const c of commands) {
      this.issued.push({ command: c, before });
      switch (c.type) {
        case 'EnsureRevision':
          if (!this.revisions[c.spec.revision]) {
            this.revisions[c.spec.revision] = {
              name: `api-${c.spec.revision}`,
              revision: c.spec.revision,
              exists: true,
              desired: c.spec.replicas,
              ready: this.instant ? c.spec.replicas : 0,
              available: 0,
              progressDeadlineExceeded: false,
              images: {},
              template: c.spec.template,
            };
          } else this.scale(`api-${c.spec.revision}`, c.spec.replicas);
          break;
        case 'ScaleRevision':
          this.scale(c.deployment, c.replicas);
          break;
        case 'ScalePlainDeployment':
          if (this.plain)
            this.plain = { replicas: c.replicas, ready: this.instant ? c.replicas : this.plain.ready };
          break;
        case 'SelectRevision':
          this.select(c.service, { [name]: 'api', [rev]: c.revision });
          break;
        case 'RestoreSelector':
          this.select(c.service, c.selector);
          break;
        case 'DeleteRevision':
          for (const [k, v] of Object.entries(this.revisions))
            if (v.name === c.deployment) delete this.revisions[k];
          break;
        case 'SetWeight':
        case 'PrepareRouter': {
          // The replica-ratio router (no trafficRouting): both revisions behind the stable Service.
          const r = this.release!;
          const split = replicaSplit(r.replicas, c.type === 'SetWeight' ? c.weight : 0);
          this.scale(r.green!.deployment, split.canary);
          this.scale(r.blue!.deployment, split.stable);
          this.select('api', { [name]: 'api' });
          break;
        }
        case 'FinalizeRouter': {
          const keeper = Object.values(this.revisions).find((x) => x.revision === c.stableRevision)!;
          if (keeper.desired < this.release!.replicas) this.scale(keeper.name, this.release!.replicas);
          this.select('api', { [name]: 'api', [rev]: c.stableRevision });
          break;
        }
        case 'MoveHpa':
          break;
      }
    }
  }

  /** The release whose revisions the router commands refer to (set by the driver). */
  release: Release | null = null;

  /** A command that takes down what a Service selects or still lists (the promise broken). */
  violations(): string[] {
    const out: string[] = [];
    for (const { command: c, before } of this.issued) {
      const down =
        (c.type === 'ScaleRevision' && c.replicas === 0) || c.type === 'DeleteRevision' ? c.deployment : null;
      if (!down) continue;
      const r = Object.values(before.snapshot.revisions).find((x) => x.name === down);
      if (!r) continue;
      for (const [service, counts] of Object.entries(before.endpoints)) {
        const others = Object.entries(counts.readyByRevision)
          .filter(([k]) => k !== r.revision)
          .reduce((a, [, n]) => a + n, 0);
        const selector = before.snapshot.services[service]?.selector ?? {};
        if (selector[rev] === r.revision || ((counts.readyByRevision[r.revision] ?? 0) > 0 && others === 0)) {
          out.push(`${c.type} ${down} while ${service} serves it`);
        }
      }
    }
    return out;
  }
}

function step(t: EngineTarget, c: Cluster, r: Release, w: Workload, now: number): Decision {
  c.release = r;
  const observation = c.observe();
  if (!c.pinLag) c.lagging = {};
  const d = decideStep(t, r, w, { type: 'step', step: r.wake?.step ?? 'deploy-green', observation }, now);
  c.release = d.release;
  c.apply(d.commands);
  return d;
}

/** Steps until the release waits for a human, ends, or `max` steps; each step at its wake-up. */
function drive(t: EngineTarget, c: Cluster, r: Release, w: Workload, now: number, max = 300) {
  for (let i = 0; i < max && r.wake; i++) {
    now = Math.max(now, r.wake.at);
    ({ release: r, workload: w } = step(t, c, r, w, now));
  }
  return { release: r, workload: w, now };
}

function push(t: EngineTarget, image: string, w: Workload, now: number, live: Release[] = []) {
  const parsed = parsePush({ action: 'INSERT', digest: image, tag: `${repo}:v${image.slice(-1)}` });
  if (typeof parsed === 'string') throw new Error(parsed);
  const out = decidePush(t, parsed, `m-${image.slice(-1)}`, w, live, now);
  if (out.kind !== 'released') throw new Error(out.reason);
  return out;
}

function control(t: EngineTarget, command: 'abort' | 'promote', r: Release, w: Workload, now: number) {
  const out = decideControl(
    t,
    { command, target: 'api', full: false, requestedBy: 'ana', requestId: `req-${command}-0001` },
    r,
    w,
    [r],
    now,
  );
  if (out.kind !== 'applied') throw new Error(`${command}: ${out.kind}`);
  return out;
}

/** A first push adopting the plain Deployment, stepped until the active Service names r0. */
function adoptUntilNarrowed(t: EngineTarget, c: Cluster) {
  const first = push(t, digest('2'), emptyWorkload('api'), 0);
  let r = first.release;
  let w = first.workload;
  let now = 0;
  for (let i = 0; i < 20 && c.selectors.api?.[rev] === undefined; i++) {
    now = Math.max(now, r.wake!.at);
    ({ release: r, workload: w } = step(t, c, r, w, now));
  }
  expect(c.selectors.api?.[rev]).toBe(revisionOf(template(digest('1'))));
  return { release: r, workload: w, now };
}

describe('the serving revision is never taken down', () => {
  it('adoption: once the Service names r0, r0 is never scaled down, even when it drops below the old count past the deadline', () => {
    const t = blueGreen();
    const c = new Cluster(t);
    let { release: r, workload: w, now } = adoptUntilNarrowed(t, c);
    const r0 = revisionOf(template(digest('1')));
    // An HPA moved onto r0 scales it below the plain Deployment's old count; pods stay unready.
    c.instant = false;
    c.revisions[r0]!.desired = 2;
    c.revisions[r0]!.ready = 1;
    now += 120_000;
    const end = drive(t, c, r, w, now, 40);
    expect(c.violations()).toEqual([]);
    // Undone, it gives the Service back its original selector first, and keeps the plain Deployment
    // up; r0 goes only then. Not undone, r0 keeps serving.
    if (end.release.phase === 'Failed') {
      expect(c.selectors.api).toEqual({ [name]: 'api' });
      expect(c.plain?.replicas).toBe(3);
    } else expect(c.revisions[r0]!.desired).toBeGreaterThan(0);
  });

  it('adoption aborted after a pass scaled the plain Deployment down and lost its commit: the plain Deployment comes back before r0 goes', () => {
    const t = blueGreen();
    const c = new Cluster(t);
    let { release: r, workload: w, now } = adoptUntilNarrowed(t, c);
    const r0 = revisionOf(template(digest('1')));
    // The pass that scaled the plain Deployment to zero lost its commit; then an abort arrives.
    c.plain = { replicas: 0, ready: 0 };
    c.instant = false;
    ({ release: r, workload: w } = control(t, 'abort', r, w, now));
    const undoing = drive(t, c, r, w, now, 20);
    expect(c.violations()).toEqual([]);
    expect(c.plain?.replicas).toBe(3);
    expect(c.revisions[r0]!.desired).toBeGreaterThan(0);
    expect(undoing.release.phase).toBe('Adopting');
    // Once the plain pods are ready and listed again, r0 goes and the release ends Aborted.
    c.settle();
    const end = drive(t, c, undoing.release, undoing.workload, undoing.now + 1000, 20);
    expect(c.violations()).toEqual([]);
    expect(end.release.phase).toBe('Aborted');
    expect(c.selectors.api).toEqual({ [name]: 'api' });
    expect(c.revisions[r0]!.desired).toBe(0);
  });

  it('canary without a router: abort at setWeight 100 narrows the stable Service only once stable is ready at full size', () => {
    const t = canary([{ setWeight: 100 }, { pause: {} }]);
    const c = new Cluster(t);
    const adopted = drive(
      t,
      c,
      push(t, digest('1'), emptyWorkload('api'), 0).release,
      emptyWorkload('api'),
      0,
    );
    expect(adopted.release.phase).toBe('Succeeded');
    const started = push(t, digest('2'), adopted.workload, adopted.now + 1000);
    const paused = drive(t, c, started.release, started.workload, adopted.now + 1000);
    expect(paused.release.phase).toBe('AwaitingPromotion');
    const blue = paused.release.blue!;
    expect(c.revisions[blue.revision]!.desired).toBe(0);

    c.instant = false;
    const aborted = control(t, 'abort', paused.release, paused.workload, paused.now + 1000);
    let r = aborted.release;
    let w = aborted.workload;
    let now = paused.now + 1000;
    for (let i = 0; i < 10; i++) {
      now = Math.max(now, r.wake?.at ?? now);
      ({ release: r, workload: w } = step(t, c, r, w, now));
      const selector = c.selectors.api!;
      // Narrowed to stable: stable's pods must be there to take the traffic.
      if (selector[rev] === blue.revision) expect(c.revisions[blue.revision]!.ready).toBe(3);
    }
    c.settle();
    const end = drive(t, c, r, w, now);
    expect(end.release.phase).toBe('Aborted');
    expect(c.selectors.api?.[rev]).toBe(blue.revision);
    expect(c.violations()).toEqual([]);
  });

  it('a switch whose commit was lost: the record still follows the cluster (stable, previous, HPA)', () => {
    const t = blueGreen();
    const c = new Cluster(t);
    const adopted = drive(
      t,
      c,
      push(t, digest('1'), emptyWorkload('api'), 0).release,
      emptyWorkload('api'),
      0,
    );
    const blue = adopted.workload.stable!;
    const started = push(t, digest('2'), adopted.workload, adopted.now + 1000);
    let r = started.release;
    let w = started.workload;
    let now = adopted.now + 1000;
    for (let i = 0; i < 30 && r.phase !== 'Switching'; i++) {
      now = Math.max(now, r.wake!.at);
      ({ release: r, workload: w } = step(t, c, r, w, now));
    }
    // The pass that switches runs its commands, then dies before its commit: its decision is lost.
    for (let i = 0; i < 10 && c.selectors.api?.[rev] !== r.green!.revision; i++) {
      const d = step(t, c, r, w, now);
      if (c.selectors.api?.[rev] !== r.green!.revision) ({ release: r, workload: w } = d);
    }
    expect(c.selectors.api?.[rev]).toBe(r.green!.revision);
    const lostAt = c.issued.length;
    const end = drive(t, c, r, w, now + 1000);
    expect(end.release.phase).toBe('Succeeded');
    expect(end.workload.stable?.revision).toBe(r.green!.revision);
    expect(end.workload.previous[0]?.revision).toBe(blue.revision);
    expect(c.issued.slice(lostAt).map((x) => x.command)).toContainEqual({
      type: 'MoveHpa',
      from: blue.deployment,
      to: r.green!.deployment,
    });
  });

  it('a rollback drains green before removing it, after abortScaleDownDelaySeconds', () => {
    const t = blueGreen({ previewService: 'api-preview', postPromotionAnalysis: undefined });
    const c = new Cluster(t);
    c.selectors['api-preview'] = { [name]: 'api' };
    const adopted = drive(
      t,
      c,
      push(t, digest('1'), emptyWorkload('api'), 0).release,
      emptyWorkload('api'),
      0,
    );
    const t2 = blueGreen({ previewService: 'api-preview', autoPromotionEnabled: false });
    const started = push(t2, digest('2'), adopted.workload, adopted.now + 1000);
    const paused = drive(t2, c, started.release, started.workload, adopted.now + 1000);
    expect(paused.release.phase).toBe('AwaitingPromotion');
    const green = paused.release.green!;
    // Green goes unready: the preview Service still lists it when the rollback moves it back.
    c.revisions[green.revision]!.progressDeadlineExceeded = true;
    const aborted = control(t2, 'abort', paused.release, paused.workload, paused.now + 1);
    let r = aborted.release;
    let w = aborted.workload;
    let now = paused.now + 1;
    for (let i = 0; i < 10 && r.phase === 'RollingBack'; i++) {
      now = Math.max(now, r.wake?.at ?? now);
      ({ release: r, workload: w } = step(t2, c, r, w, now));
    }
    expect(r.phase).toBe('Aborted');
    const endedAt = now;
    c.lagging['api-preview'] = new Set([green.revision]);
    c.pinLag = true;
    const early = drive(t2, c, r, w, now, 5);
    expect(c.revisions[green.revision]?.desired).toBeGreaterThan(0);
    expect(early.now - endedAt).toBeGreaterThanOrEqual(30_000);
    c.settle();
    c.pinLag = false;
    drive(t2, c, early.release, early.workload, early.now, 5);
    expect(c.revisions[green.revision]?.desired ?? 0).toBe(0);
    expect(c.violations()).toEqual([]);
  });

  it('a revision whose Deployment was changed to run another image is never switched to', () => {
    const t = blueGreen();
    const c = new Cluster(t);
    const adopted = drive(
      t,
      c,
      push(t, digest('1'), emptyWorkload('api'), 0).release,
      emptyWorkload('api'),
      0,
    );
    const started = push(t, digest('2'), adopted.workload, adopted.now + 1000);
    let r = started.release;
    let w = started.workload;
    const now = adopted.now + 1000;
    ({ release: r, workload: w } = step(t, c, r, w, now));
    const green = r.green!;
    c.revisions[green.revision]!.images = { api: digest('9') };
    const end = drive(t, c, r, w, now + 1);
    expect(c.selectors.api?.[rev]).toBe(adopted.workload.stable!.revision);
    expect(end.release.phase).toMatch(/RolledBack|Failed/);
    expect(end.release.reason).toMatch(/runs .*@sha256:9+, not .*@sha256:2+/);
  });
});
