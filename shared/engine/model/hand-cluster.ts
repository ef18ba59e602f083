// A small cluster of the engine's own shapes for the safety tests (safety.test.ts): Services,
// revisions and the plain Deployment's pods, EndpointSlices that may still list a revision after a
// selector moved away from it, pods that become ready only on settle() (or at once), and every
// command issued with what the cluster looked like, to find a command that took down what served.
// Simpler than the model cluster (cluster.ts): it is stepped by hand, one decision at a time.
import type { EndpointCounts, WorkloadSnapshot } from '../../kubernetes/types.ts';
import type { Command } from '../commands.ts';
import { decideStep } from '../decide.ts';
import type { Decision, Observation } from '../kernel.ts';
import { isRunning, type Release, type Workload } from '../release.ts';
import type { EngineTarget } from '../target.ts';
import { replicaSplit } from './cluster-objects.ts';
import { digest, podTemplate } from './fixtures.ts';

export const name = 'app.kubernetes.io/name';
export const rev = 'switchyard.dev/revision';

type Rev = WorkloadSnapshot['revisions'][string];

/** Services, revisions and pods; pods get ready only when `settle()` is called (or at once with `instant`). */
export class Cluster {
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
          ? { name: 'api', replicas: this.plain.replicas, template: podTemplate(digest('1')) }
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
    if (!this.t.spec.strategy.canary || !r?.candidate || !r.stable || !stable) return undefined;
    const g = stable.readyByRevision[r.candidate.revision] ?? 0;
    const b = stable.readyByRevision[r.stable.revision] ?? 0;
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
          const r = this.release;
          if (!r || !isRunning(r)) throw new Error(`${c.type} for a release without its revisions`);
          const split = replicaSplit(r.replicas, c.type === 'SetWeight' ? c.weight : 0);
          this.scale(r.candidate.deployment, split.canary);
          this.scale(r.stable.deployment, split.stable);
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

export function step(t: EngineTarget, c: Cluster, r: Release, w: Workload, now: number): Decision {
  c.release = r;
  const observation = c.observe();
  if (!c.pinLag) c.lagging = {};
  const d = decideStep(t, r, w, { type: 'step', step: r.wake?.step ?? 'deploy-green', observation }, now);
  c.release = d.release;
  c.apply(d.commands);
  return d;
}

/** Steps until the release waits for a human, ends, or `max` steps; each step at its wake-up. */
export function drive(t: EngineTarget, c: Cluster, r: Release, w: Workload, now: number, max = 300) {
  for (let i = 0; i < max && r.wake; i++) {
    now = Math.max(now, r.wake.at);
    ({ release: r, workload: w } = step(t, c, r, w, now));
  }
  return { release: r, workload: w, now };
}
