// A model of one target's corner of a Kubernetes cluster, for the model-based test of the engine
// (model.test.ts): the plain Deployment being adopted, the revision Deployments, the user's Services
// and what their EndpointSlices list, an HPA, and the state of the three traffic routers. It reads
// like the adapters read (shared/kubernetes/cluster.ts, runtime/step.ts observe(), each router's
// observe()) and applies each engine Command as the adapter and the routers apply it, including the
// errors they throw. Pure data and synchronous: the system model (system.ts) decides when time
// passes, when pods become ready and when EndpointSlices catch up.
//
// What it simplifies, on purpose:
// - Pods are counts per backend (the plain Deployment is backend "", a revision is its hash): a
//   Deployment has `desired` pods at once, of which `ready` are ready; pods become ready one at a
//   time on a separate event, a scale-down removes pods at once (ready = min(ready, desired)).
// - EndpointSlices: each Service has a `listed` set (per backend: ready and total endpoints) that
//   catches up with the pods its selector matches on a separate event (`syncEndpoints`), and at the
//   latest `maxLagMs` after it went out of date (bounded lag: the EndpointSlice controller and the
//   Gateway catch up within seconds; a lag beyond every deadline is not a failure of the engine).
//   Without lag the system syncs after every event. kube-proxy sends traffic to what is listed.
// - The Gateway accepts an HTTPRoute generation on an `accept` event, or `maxLagMs` after it.
// - progressDeadlineExceeded is never set (the engine's own deadlines are what the test drives).
// - A router command is one atomic write (the real ones make one to three API calls).
// - The adapter is modelled as at HEAD: the serving guard (kubernetes/cluster.ts guard()) in front
//   of every scale to zero and delete, over all the target's Services; a delete needs replicas 0.
import { deploymentName, revisionDeployment } from '../../kubernetes/revision.ts';
import type { EndpointCounts, RevisionStatus, WorkloadSnapshot } from '../../kubernetes/types.ts';
import type { HeaderRoute, RouteState } from '../../routers/router.ts';
import type { Command } from '../commands.ts';
import type { Observation } from '../kernel.ts';
import type { PodTemplate } from '../release.ts';

export type RouterKind = 'gatewayAPI' | 'nginx' | 'none';

const nameLabel = 'app.kubernetes.io/name';
const revisionLabel = 'switchyard.dev/revision';

/** An error as the adapters throw them: `kind` decides retry or give up (shared/errors.ts). */
export class ModelError extends Error {
  readonly kind: 'not-found' | 'unsafe' | 'invalid' | 'unavailable' | 'conflict' | 'in-use';
  constructor(kind: ModelError['kind'], message: string) {
    super(message);
    this.kind = kind;
  }
}

/** The model lacks something the engine needs (a command it does not know): a test failure, never retried. */
export class ModelGap extends Error {}

/** What a router command needs to know (shared/routers/router.ts RouterContext, minus the kubeconfig). */
export interface ModelRouterContext {
  stableService: string;
  canaryService: string;
  stableRevision: string;
  canaryRevision: string;
  stableDeployment: string;
  canaryDeployment: string;
  replicas: number;
  releaseId: string;
}

export interface ClusterConfig {
  namespace: string;
  workload: string;
  /** The target's Services, the serving one (active / stable) first. */
  services: string[];
  /** Canary only: which router carries the weights (null: blue-green). */
  router: RouterKind | null;
  /** EndpointSlices lag behind selectors and pods until a sync event (or maxLagMs). */
  lag: boolean;
}

/** The longest an EndpointSlice listing or the Gateway's accepted generation stays out of date. */
export const maxLagMs = 3_000;

interface Deployment {
  name: string;
  desired: number;
  ready: number;
  /** Pod template as stored (a revision's carries the revision labels). */
  template: PodTemplate;
}

interface PlainDeployment extends Deployment {
  adoptedReplicas: number | null;
}

/** A set of pods the Services can select: the plain Deployment ("") or a revision (its hash). */
export interface Backend {
  key: string;
  deployment: string;
  desired: number;
  ready: number;
  labels: Record<string, string>;
}

type Listing = Map<string, { ready: number; total: number }>;

interface GatewayRoute {
  /** The weighted rule: null is the stable Service alone (as the user wrote it, or after finalize). */
  spec: { canary: number | null; header: HeaderRoute | null };
  generation: number;
  /** The generation the Gateway has accepted; the data plane runs `inForce` until it catches up. */
  observedGeneration: number;
  inForce: { canary: number | null; header: HeaderRoute | null };
}

interface CanaryIngress {
  release: string;
  weight: number;
  header: HeaderRoute | null;
}

export interface Protection {
  service: string;
  why: string;
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((k) => labels[k] === selector[k]);
}

const sameRoute = (a: HeaderRoute | null, b: HeaderRoute | null) =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** replicaSplit of routers/service-selector (copied: the engine may not import the routers). */
export function replicaSplit(replicas: number, weight: number): { stable: number; canary: number } {
  const canary = Math.ceil((replicas * weight) / 100);
  const stable = weight >= 100 ? 0 : Math.max(1, replicas - canary);
  return { stable, canary };
}

export class ModelCluster {
  plain: PlainDeployment | null = null;
  readonly revisions = new Map<string, Deployment & { revision: string }>();
  readonly selectors = new Map<string, Record<string, string>>();
  readonly listed = new Map<string, Listing>();
  hpa: { target: string } | null = null;
  gateway: GatewayRoute = {
    spec: { canary: null, header: null },
    generation: 1,
    observedGeneration: 1,
    inForce: { canary: null, header: null },
  };
  ingress: CanaryIngress | null = null;
  /** Since when a Service's listing (or the Gateway's accepted generation) has been out of date. */
  private readonly staleSince = new Map<string, number>();
  private gatewayStaleSince: number | null = null;

  readonly config: ClusterConfig;

  constructor(config: ClusterConfig) {
    this.config = config;
    for (const s of config.services) {
      this.selectors.set(s, { [nameLabel]: config.workload });
      this.listed.set(s, new Map());
    }
  }

  get activeService(): string {
    return this.config.services[0]!;
  }

  get canaryService(): string | undefined {
    return this.config.router ? this.config.services[1] : undefined;
  }

  // ---- pods and EndpointSlices -------------------------------------------------------------

  backends(): Backend[] {
    const out: Backend[] = [];
    if (this.plain) {
      out.push({
        key: '',
        deployment: this.plain.name,
        desired: this.plain.desired,
        ready: this.plain.ready,
        labels: this.plain.template.metadata?.labels ?? {},
      });
    }
    for (const r of this.revisions.values()) {
      out.push({
        key: r.revision,
        deployment: r.name,
        desired: r.desired,
        ready: r.ready,
        labels: r.template.metadata?.labels ?? {},
      });
    }
    return out;
  }

  backend(key: string): Backend | undefined {
    if (key === '') return this.backends()[0]?.key === '' ? this.backends()[0] : undefined;
    const r = this.revisions.get(key);
    return (
      r && {
        key,
        deployment: r.name,
        desired: r.desired,
        ready: r.ready,
        labels: r.template.metadata?.labels ?? {},
      }
    );
  }

  /** What the EndpointSlice controller would list for `service` now. */
  private truth(service: string): Listing {
    const selector = this.selectors.get(service) ?? {};
    const out: Listing = new Map();
    for (const b of this.backends()) {
      if (b.desired > 0 && matches(selector, b.labels)) out.set(b.key, { ready: b.ready, total: b.desired });
    }
    return out;
  }

  syncEndpoints(service: string): void {
    this.listed.set(service, this.truth(service));
    this.staleSince.delete(service);
  }

  private upToDate(service: string): boolean {
    const a = this.listed.get(service) ?? new Map();
    const b = this.truth(service);
    if (a.size !== b.size) return false;
    for (const [k, l] of b) {
      const m = a.get(k);
      if (!m || m.ready !== l.ready || m.total !== l.total) return false;
    }
    return true;
  }

  /** Notes, at model time `now`, what went out of date (the clock of the bounded lag). */
  noteStale(now: number): void {
    for (const s of this.config.services) {
      if (this.upToDate(s)) this.staleSince.delete(s);
      else if (!this.staleSince.has(s)) this.staleSince.set(s, now);
    }
    if (this.gateway.observedGeneration === this.gateway.generation) this.gatewayStaleSince = null;
    else if (this.gatewayStaleSince === null) this.gatewayStaleSince = now;
  }

  /** Time has moved on to `now`: whatever has been out of date for maxLagMs catches up. Returns what did. */
  catchUp(now: number): string[] {
    const done: string[] = [];
    for (const [s, since] of [...this.staleSince]) {
      if (now - since >= maxLagMs) {
        this.syncEndpoints(s);
        done.push(`${s} EndpointSlices caught up`);
      }
    }
    if (this.gatewayStaleSince !== null && now - this.gatewayStaleSince >= maxLagMs && this.gatewayAccepts())
      done.push('the Gateway accepted the HTTPRoute');
    return done;
  }

  /** Without lag, EndpointSlices follow every change at once. */
  settle(): void {
    if (!this.config.lag) for (const s of this.config.services) this.syncEndpoints(s);
  }

  syncAll(): void {
    for (const s of this.config.services) this.syncEndpoints(s);
  }

  /** Backends whose pods could become ready (index order stable for the harness). */
  podReady(index: number): string | null {
    const waiting = this.backends().filter((b) => b.ready < b.desired);
    if (waiting.length === 0) return null;
    const b = waiting[index % waiting.length]!;
    this.setReady(b.key, b.ready + 1);
    return b.key;
  }

  /** One ready pod fails its probe; never the last ready pod of a backend (the test is about the engine). */
  podUnready(index: number): string | null {
    const candidates = this.backends().filter((b) => b.ready >= 2);
    if (candidates.length === 0) return null;
    const b = candidates[index % candidates.length]!;
    this.setReady(b.key, b.ready - 1);
    return b.key;
  }

  allPodsReady(): void {
    for (const b of this.backends()) this.setReady(b.key, b.desired);
  }

  private setReady(key: string, ready: number): void {
    if (key === '') {
      if (this.plain) this.plain.ready = ready;
    } else {
      const r = this.revisions.get(key);
      if (r) r.ready = ready;
    }
  }

  /** The Gateway takes the HTTPRoute's current generation. */
  gatewayAccepts(): boolean {
    if (this.gateway.observedGeneration === this.gateway.generation) return false;
    this.gateway.observedGeneration = this.gateway.generation;
    this.gateway.inForce = structuredClone(this.gateway.spec);
    this.gatewayStaleSince = null;
    return true;
  }

  // ---- what traffic sees -------------------------------------------------------------------

  /** Whether the data plane sends any traffic to the canary Service (never for blue-green and the replica-ratio router). */
  canaryGetsTraffic(): boolean {
    if (this.config.router === 'gatewayAPI')
      return (this.gateway.inForce.canary ?? 0) > 0 || this.gateway.inForce.header !== null;
    if (this.config.router === 'nginx')
      return !!this.ingress && (this.ingress.weight > 0 || this.ingress.header !== null);
    return false;
  }

  /** Services that carry user traffic now: active / stable always, the canary Service while routed to. */
  servingServices(): string[] {
    const out = [this.activeService];
    if (this.canaryService && this.canaryGetsTraffic()) out.push(this.canaryService);
    return out;
  }

  /** Ready endpoints that really answer: listed as ready, and the pod is still there and ready. */
  effectiveReady(service: string): number {
    let n = 0;
    for (const [key, l] of this.listed.get(service) ?? new Map()) {
      const b = this.backend(key);
      if (b && b.desired > 0) n += Math.min(l.ready, b.ready);
    }
    return n;
  }

  /**
   * Why scaling down or deleting backend `key` would take away what a serving Service serves, or null.
   * A serving Service depends on a backend when (1) its selector names the revision (or, for the
   * plain Deployment, its selector has no revision key and matches the plain pods), (2) its
   * EndpointSlices still list ready endpoints of the backend after the selector moved away from it,
   * or (3) its selector takes the whole workload and this backend has the only ready endpoints listed.
   * A backend that a whole-workload selector takes beside others that serve (a half-ready first
   * revision during adoption, for one) may go.
   */
  protection(key: string): Protection | null {
    const b = this.backend(key);
    if (!b) return null;
    for (const service of this.servingServices()) {
      const selector = this.selectors.get(service) ?? {};
      const listing = this.listed.get(service) ?? new Map();
      const named =
        key === ''
          ? !(revisionLabel in selector) && matches(selector, b.labels)
          : selector[revisionLabel] === key;
      if (named) return { service, why: `${service} selects it` };
      const listedReady = listing.get(key)?.ready ?? 0;
      if (listedReady > 0 && !matches(selector, b.labels)) {
        return {
          service,
          why: `${service}'s EndpointSlices still list ${listedReady} ready endpoint(s) of it`,
        };
      }
      if (listedReady > 0 && b.ready > 0) {
        let others = 0;
        for (const [k, l] of listing) {
          const o = this.backend(k);
          if (k !== key && o && o.desired > 0) others += Math.min(l.ready, o.ready);
        }
        if (others === 0) return { service, why: `${service} has ready endpoints of no other backend` };
      }
    }
    return null;
  }

  // ---- reads, as the adapter and the routers make them ---------------------------------------

  private byDeployment(name: string): (Deployment & { revision: string }) | undefined {
    for (const r of this.revisions.values()) if (r.name === name) return r;
    return undefined;
  }

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

  /** runtime/step.ts observe(), plus the router's observe() (whose errors the runtime turns into undefined). */
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
  private observeReplicaRatio(ctx: ModelRouterContext): RouteState {
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

  // ---- writes ------------------------------------------------------------------------------

  /** Carries out one command as runtime/execute.ts + the adapter + the router would; throws ModelError. */
  apply(command: Command, ctx: ModelRouterContext | null): void {
    switch (command.type) {
      case 'EnsureRevision': {
        const spec = command.spec;
        const existing = this.revisions.get(spec.revision);
        if (!existing) {
          const d = revisionDeployment(spec);
          this.revisions.set(spec.revision, {
            name: deploymentName(spec.workload, spec.revision),
            revision: spec.revision,
            desired: spec.replicas,
            ready: 0,
            template: d.spec!.template,
          });
        } else if (existing.desired < spec.replicas) {
          // Only ever scaled up, as the adapter does (ensureRevision).
          this.guard(spec.revision, spec.replicas);
          this.scale(existing, spec.replicas);
        }
        return;
      }
      case 'ScaleRevision':
        this.scaleRevision(command.deployment, command.replicas);
        return;
      case 'ScalePlainDeployment': {
        const p = this.plain;
        if (!p || p.name !== command.deployment)
          throw new ModelError('not-found', `Deployment "${command.deployment}" not found`);
        if (p.desired === command.replicas) return;
        this.guard('', command.replicas);
        if (command.replicas < p.desired && p.adoptedReplicas === null) p.adoptedReplicas = p.desired;
        this.scale(p, command.replicas);
        return;
      }
      case 'SelectRevision':
        this.selectRevision(command.service, command.revision);
        return;
      case 'RestoreSelector':
        if (!this.selectors.has(command.service))
          throw new ModelError('not-found', `Service "${command.service}" not found`);
        this.selectors.set(command.service, { ...command.selector });
        return;
      case 'MoveHpa':
        if (command.from !== command.to && this.hpa?.target === command.from) this.hpa.target = command.to;
        return;
      case 'DeleteRevision': {
        const r = this.byDeployment(command.deployment);
        if (!r) return;
        // deleteRevision(): only once scaled to zero, then through the guard.
        if (r.desired > 0)
          throw new ModelError(
            'in-use',
            `refusing to delete ${r.name}: it still has ${r.desired} replicas; it is scaled to zero first`,
          );
        this.guard(r.revision, 0);
        this.revisions.delete(r.revision);
        return;
      }
      case 'PrepareRouter':
      case 'SetWeight':
      case 'FinalizeRouter':
        if (!ctx) throw new ModelError('invalid', `${command.type}: no canary revisions to route between`);
        this.route(command, ctx);
        return;
      default:
        // A command the engine learned after this model was written: fail loudly, never skip it.
        throw new ModelGap(
          `the model cluster does not know command ${(command as { type: string }).type}: teach ModelCluster.apply() what the adapter does with it`,
        );
    }
  }

  private scale(d: Deployment, replicas: number): void {
    d.desired = replicas;
    d.ready = Math.min(d.ready, replicas);
  }

  private scaleRevision(deployment: string, replicas: number): void {
    const r = this.byDeployment(deployment);
    if (!r) throw new ModelError('not-found', `Deployment "${deployment}" not found`);
    if (r.desired === replicas) return;
    this.guard(r.revision, replicas);
    this.scale(r, replicas);
  }

  /**
   * kubernetes/cluster.ts guard() at HEAD, over the target's Services, reading selectors and
   * EndpointSlices as they are now: taking backend `key` to zero is refused when a Service selects
   * it (by its revision, or by labels while no other revision behind it has a ready endpoint) or,
   * no longer selecting it, still lists its endpoints. A resize that leaves replicas passes.
   */
  private guard(key: string, replicasAfter: number): void {
    if (replicasAfter > 0) return;
    const b = this.backend(key);
    if (!b) return;
    for (const service of this.config.services) {
      const selector = this.selectors.get(service) ?? {};
      const selects = matches(selector, b.labels);
      const counts = this.endpoints(service);
      let othersReady = 0;
      for (const [rev, n] of Object.entries(counts.readyByRevision)) if (rev !== key) othersReady += n;
      if (selects && (selector[revisionLabel] !== undefined || othersReady === 0)) {
        throw new ModelError(
          'in-use',
          `refusing to take down ${b.deployment}: Service "${service}" selects it`,
        );
      }
      const listed = counts.totalByRevision[key] ?? 0;
      if (!selects && listed > 0) {
        throw new ModelError(
          'in-use',
          `refusing to take down ${b.deployment}: Service "${service}" still lists ${listed} of its endpoints`,
        );
      }
    }
  }

  private selectRevision(service: string, revision: string): void {
    if (!this.selectors.has(service)) throw new ModelError('not-found', `Service "${service}" not found`);
    this.selectors.set(service, { [nameLabel]: this.config.workload, [revisionLabel]: revision });
  }

  private route(
    command: Extract<Command, { type: 'PrepareRouter' | 'SetWeight' | 'FinalizeRouter' }>,
    ctx: ModelRouterContext,
  ): void {
    if (command.type === 'SetWeight') {
      const w = command.weight;
      if (!Number.isInteger(w) || w < 0 || w > 100) throw new ModelError('invalid', `weight ${w}`);
    }
    switch (this.config.router) {
      case 'gatewayAPI': {
        const want =
          command.type === 'PrepareRouter'
            ? { canary: 0, header: null }
            : command.type === 'SetWeight'
              ? { canary: command.weight, header: command.headerRoute }
              : { canary: null, header: null };
        if (want.header && (!want.header.header || want.header.cookie !== undefined))
          throw new ModelError('invalid', 'an HTTPRoute matches on headers only');
        const g = this.gateway;
        if (g.spec.canary !== want.canary || !sameRoute(g.spec.header, want.header)) {
          g.spec = want;
          g.generation += 1;
        }
        return;
      }
      case 'nginx': {
        const ing = this.ingress;
        if (command.type === 'PrepareRouter') {
          this.ingress = { release: ctx.releaseId, weight: 0, header: null };
          return;
        }
        if (command.type === 'SetWeight') {
          if (!ing) throw new ModelError('not-found', 'canary Ingress not found');
          if (ing.release !== ctx.releaseId)
            throw new ModelError('unsafe', `canary Ingress belongs to release "${ing.release}"`);
          ing.weight = command.weight;
          ing.header = command.headerRoute;
          return;
        }
        if (ing && ing.release === ctx.releaseId) this.ingress = null;
        return;
      }
      case 'none': {
        if (command.type === 'FinalizeRouter') {
          const keeper =
            command.stableRevision === ctx.canaryRevision ? ctx.canaryDeployment : ctx.stableDeployment;
          const status = this.revisionStatus(keeper);
          if (!status.exists) throw new ModelError('not-found', `Deployment "${keeper}" not found`);
          if (status.desired < ctx.replicas) this.scaleRevision(keeper, ctx.replicas);
          if (status.ready === 0)
            throw new ModelError(
              'unavailable',
              `not narrowing to ${command.stableRevision}: no ready replica yet`,
            );
          this.selectRevision(ctx.stableService, command.stableRevision);
          return;
        }
        if (command.type === 'SetWeight' && command.headerRoute !== null)
          throw new ModelError('invalid', 'replica ratio cannot route by header');
        const weight = command.type === 'SetWeight' ? command.weight : 0;
        const want = replicaSplit(ctx.replicas, weight);
        const canaryNow = this.revisionStatus(ctx.canaryDeployment);
        // service-selector apply(): the growing side first; the other shrinks, but not to zero
        // while the grown side has no ready replica (the guard would refuse it).
        const stableNow = this.revisionStatus(ctx.stableDeployment);
        const sides = [
          { deployment: ctx.canaryDeployment, now: canaryNow, want: want.canary },
          { deployment: ctx.stableDeployment, now: stableNow, want: want.stable },
        ];
        const growing = sides.filter((x) => !x.now.exists || x.want >= x.now.desired);
        const shrinking = sides.filter((x) => x.now.exists && x.want < x.now.desired);
        for (const x of growing) this.scaleRevision(x.deployment, x.want);
        const grownReady = growing.some((x) => x.now.exists && x.now.ready > 0);
        for (const x of shrinking) if (x.want > 0 || grownReady) this.scaleRevision(x.deployment, x.want);
        if (!this.selectors.has(ctx.stableService))
          throw new ModelError('not-found', `Service "${ctx.stableService}" not found`);
        this.selectors.set(ctx.stableService, { [nameLabel]: this.config.workload });
        return;
      }
      default:
        throw new ModelError('invalid', 'no router configured');
    }
  }

  // ---- for traces ----------------------------------------------------------------------------

  describe(alias: (revision: string) => string): string {
    const parts: string[] = [];
    if (this.plain) parts.push(`plain ${this.plain.ready}/${this.plain.desired}`);
    for (const r of this.revisions.values()) parts.push(`${alias(r.revision)} ${r.ready}/${r.desired}`);
    for (const s of this.config.services) {
      const sel = this.selectors.get(s) ?? {};
      const rev = sel[revisionLabel];
      const listing = [...(this.listed.get(s) ?? new Map())]
        .map(([k, l]) => `${k === '' ? 'plain' : alias(k)}:${l.ready}/${l.total}`)
        .join(',');
      parts.push(`${s}→${rev ? alias(rev) : '*'}[${listing}]`);
    }
    if (this.config.router === 'gatewayAPI') {
      const g = this.gateway;
      parts.push(
        `route ${g.spec.canary ?? '-'}% gen ${g.generation}${g.observedGeneration === g.generation ? '' : ` (in force ${g.inForce.canary ?? '-'}%)`}`,
      );
    }
    if (this.config.router === 'nginx') {
      parts.push(
        this.ingress ? `ingress ${this.ingress.weight}% of ${this.ingress.release}` : 'no canary ingress',
      );
    }
    if (this.hpa) parts.push(`hpa→${this.hpa.target}`);
    return parts.join(' | ');
  }
}

function statusOf(d: Deployment): RevisionStatus {
  const images: Record<string, string> = {};
  for (const c of d.template.spec?.containers ?? []) images[c.name] = c.image ?? '';
  return {
    name: d.name,
    exists: true,
    desired: d.desired,
    ready: d.ready,
    available: d.ready,
    progressDeadlineExceeded: false,
    images,
  };
}
