// The objects of the model cluster (cluster.ts has what it models and simplifies): the plain
// Deployment, the revision Deployments, the Services' selectors and EndpointSlice listings, an HPA,
// the HTTPRoute and the canary Ingress, as plain data; the errors the adapters throw; and the base
// class ModelCluster builds on (through cluster-pods.ts, cluster-traffic.ts, cluster-reads.ts).
import type { RevisionStatus } from '../../kubernetes/types.ts';
import type { HeaderRoute } from '../../routers/router.ts';
import type { PodTemplate } from '../release.ts';

export type RouterKind = 'gatewayAPI' | 'nginx' | 'none';

export const nameLabel = 'app.kubernetes.io/name';
export const revisionLabel = 'switchyard.dev/revision';

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

export interface Deployment {
  name: string;
  desired: number;
  ready: number;
  /** Pod template as stored (a revision's carries the revision labels). */
  template: PodTemplate;
}

export interface PlainDeployment extends Deployment {
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

export type Listing = Map<string, { ready: number; total: number }>;

export interface GatewayRoute {
  /** The weighted rule: null is the stable Service alone (as the user wrote it, or after finalize). */
  spec: { canary: number | null; header: HeaderRoute | null };
  generation: number;
  /** The generation the Gateway has accepted; the data plane runs `inForce` until it catches up. */
  observedGeneration: number;
  inForce: { canary: number | null; header: HeaderRoute | null };
}

export interface CanaryIngress {
  release: string;
  weight: number;
  header: HeaderRoute | null;
}

export interface Protection {
  service: string;
  why: string;
}

export function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((k) => labels[k] === selector[k]);
}

export const sameRoute = (a: HeaderRoute | null, b: HeaderRoute | null) =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** replicaSplit of routers/service-selector (copied: the engine may not import the routers). */
export function replicaSplit(replicas: number, weight: number): { stable: number; canary: number } {
  const canary = Math.ceil((replicas * weight) / 100);
  const stable = weight >= 100 ? 0 : Math.max(1, replicas - canary);
  return { stable, canary };
}

/** The objects of the model cluster, and how they read as backends. */
export class ClusterObjects {
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

  protected byDeployment(name: string): (Deployment & { revision: string }) | undefined {
    for (const r of this.revisions.values()) if (r.name === name) return r;
    return undefined;
  }
}

export function statusOf(d: Deployment): RevisionStatus {
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
