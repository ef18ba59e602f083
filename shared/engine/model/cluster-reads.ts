// The model cluster read as the adapter and the routers read it: revision status, the workload
// snapshot, EndpointCounts, and the observation a step makes (runtime/observe.ts observe(), each
// router's observe()).
import type { EndpointCounts, RevisionStatus, WorkloadSnapshot } from '../../kubernetes/types.ts';
import type { RouteState } from '../../routers/router.ts';
import type { Observation } from '../kernel.ts';
import {
  ModelError,
  type ModelRouterContext,
  nameLabel,
  revisionLabel,
  statusOf,
} from './cluster-objects.ts';
import { ClusterTraffic } from './cluster-traffic.ts';

export class ClusterReads extends ClusterTraffic {
  revisionStatus(deployment: string): RevisionStatus {
    const r = this.byDeployment(deployment);
    if (!r) {
      return {
        name: deployment,
        exists: false,
        desired: 0,
        ready: 0,
        available: 0,
        progressDeadlineExceeded: false,
        images: {},
      };
    }
    return statusOf(r);
  }

  snapshot(services: string[]): WorkloadSnapshot {
    const revisions: WorkloadSnapshot['revisions'] = {};
    for (const r of this.revisions.values()) {
      // Shared, not copied: the engine is pure and never changes what it is given.
      revisions[r.revision] = { ...statusOf(r), revision: r.revision, template: r.template };
    }
    const svc: WorkloadSnapshot['services'] = {};
    for (const s of services) {
      const sel = this.selectors.get(s);
      svc[s] = sel ? { selector: { ...sel } } : null;
    }
    return {
      plainDeployment: this.plain
        ? { name: this.plain.name, replicas: this.plain.desired, template: this.plain.template }
        : null,
      revisions,
      services: svc,
    };
  }

  /**
   * EndpointCounts as KubernetesCluster.endpoints() reports them: by the revision label of the pod
   * an endpoint points at, and under "" when the pod has no revision label or is gone already.
   */
  endpoints(service: string): EndpointCounts {
    if (!this.selectors.has(service)) throw new ModelError('not-found', `Service "${service}" not found`);
    const counts: EndpointCounts = { readyByRevision: {}, totalByRevision: {} };
    const add = (rev: string, ready: number, total: number) => {
      if (total > 0) counts.totalByRevision[rev] = (counts.totalByRevision[rev] ?? 0) + total;
      if (ready > 0) counts.readyByRevision[rev] = (counts.readyByRevision[rev] ?? 0) + ready;
    };
    for (const [key, l] of this.listed.get(service) ?? new Map()) {
      const pods = this.backend(key)?.desired ?? 0;
      const total = Math.min(l.total, pods);
      const ready = Math.min(l.ready, total);
      add(key, ready, total);
      add('', l.ready - ready, l.total - total);
    }
    return counts;
  }

  /** runtime/observe.ts observe(), plus the router's observe() (whose errors the runtime turns into undefined). */
  observe(services: string[], routing: ModelRouterContext | null): Observation {
    const snapshot = this.snapshot(services);
    const endpoints: Observation['endpoints'] = {};
    for (const s of services) if (snapshot.services[s]) endpoints[s] = this.endpoints(s);
    const obs: Observation = { snapshot, endpoints };
    if (routing && this.config.router) {
      try {
        obs.route = this.observeRoute(routing);
      } catch {
        // observeRoute(): a router that cannot tell leaves `route` unset; the step asks again.
      }
    }
    return obs;
  }

  observeRoute(ctx: ModelRouterContext): RouteState {
    switch (this.config.router) {
      case 'gatewayAPI': {
        const g = this.gateway;
        const accepted = g.observedGeneration === g.generation;
        return {
          weight: g.spec.canary ?? 0,
          headerRoute: g.spec.header,
          accepted,
          ...(accepted ? {} : { message: `generation ${g.generation} not observed yet` }),
        };
      }
      case 'nginx': {
        const ing = this.ingress;
        if (!ing) return { weight: 0, headerRoute: null, accepted: true, message: 'no canary Ingress' };
        const ok = ing.release === ctx.releaseId;
        return {
          weight: ing.weight,
          headerRoute: ing.header,
          accepted: ok,
          ...(ok ? {} : { message: `it belongs to release "${ing.release}"` }),
        };
      }
      case 'none':
        return this.observeReplicaRatio(ctx);
      default:
        throw new ModelError('invalid', 'no router');
    }
  }

  /** service-selector observe(): the share of ready endpoints behind the stable Service. */
  protected observeReplicaRatio(ctx: ModelRouterContext): RouteState {
    const stable = this.revisionStatus(ctx.stableDeployment);
    const canary = this.revisionStatus(ctx.canaryDeployment);
    const counts = this.endpoints(ctx.stableService);
    const ready = (rev: string) => counts.readyByRevision[rev] ?? 0;
    const stableReady = ready(ctx.stableRevision);
    const canaryReady = ready(ctx.canaryRevision);
    const total = stableReady + canaryReady;
    const weight = total > 0 ? Math.round((100 * canaryReady) / total) : 0;
    const waiting: string[] = [];
    for (const [role, d] of [
      ['stable', stable],
      ['canary', canary],
    ] as const) {
      if (!d.exists) waiting.push(`${role} missing`);
      else if (d.ready !== d.desired) waiting.push(`${role} ${d.ready}/${d.desired}`);
    }
    const selector = this.selectors.get(ctx.stableService) ?? {};
    const narrowedTo = selector[revisionLabel];
    const expected: [string, number][] = [];
    if (narrowedTo !== undefined && selector[nameLabel] === this.config.workload) {
      expected.push(
        [ctx.stableRevision, narrowedTo === ctx.stableRevision ? stable.desired : 0],
        [ctx.canaryRevision, narrowedTo === ctx.canaryRevision ? canary.desired : 0],
      );
    } else if (Object.keys(selector).length === 1 && selector[nameLabel] === this.config.workload) {
      expected.push([ctx.stableRevision, stable.desired], [ctx.canaryRevision, canary.desired]);
    } else {
      waiting.push('selector is not the workload');
    }
    for (const [rev, want] of expected)
      if (ready(rev) !== want) waiting.push(`listed ${ready(rev)} not ${want}`);
    if (total === 0) waiting.push('no ready endpoint');
    return {
      weight,
      headerRoute: null,
      accepted: waiting.length === 0,
      ...(waiting.length ? { message: waiting.join('; ') } : {}),
    };
  }
}
