// The contract every traffic router implements (gateway-httproute, nginx-canary, service-selector):
// four idempotent operations, and a read-back of the state in force, so a canary step completes only
// when the cluster confirms its weight.
import type { KubeConfig } from '@kubernetes/client-node';
import type { RouteObject } from '../kubernetes/types.ts';

/** Requests matching this go to the canary whatever the weight (Argo's setHeaderRoute). */
export interface HeaderRoute {
  /** Name of the route (Argo's setHeaderRoute.name). */
  name: string;
  /** Header match: exact value, e.g. {name: "x-canary", value: "always"}. */
  header?: { name: string; value: string };
  /** Cookie whose value "always" sends to the canary (NGINX canary-by-cookie). */
  cookie?: string;
}

export interface RouterContext {
  namespace: string;
  workload: string;
  /** Service whose traffic is split (it keeps selecting the stable revision). */
  stableService: string;
  /** Service that selects the canary revision. */
  canaryService: string;
  stableRevision: string;
  canaryRevision: string;
  /** Deployments of the two revisions (the replica-ratio router scales them). */
  stableDeployment: string;
  canaryDeployment: string;
  /** Full size of the workload. */
  replicas: number;
  releaseId: string;
  kubeConfig: KubeConfig;
}

/** What the cluster says is in force. */
export interface RouteState {
  /** Percentage of traffic the canary receives now, as the router can tell (0..100). */
  weight: number;
  headerRoute: HeaderRoute | null;
  /**
   * True when the data plane has taken the current configuration (e.g. the HTTPRoute is Accepted
   * for its current generation); a step waits until it is.
   */
  accepted: boolean;
  /** Why not accepted, or how the weight was worked out (e.g. from replica counts). */
  message?: string;
}

export interface TrafficRouter<C> {
  /**
   * Makes the router ready for a canary at weight 0 (e.g. creates the canary Ingress it owns).
   * Idempotent; never touches objects it does not own beyond the documented fields.
   */
  prepare(config: C, ctx: RouterContext): Promise<void>;
  /** Sets the canary's weight (0..100) and header route; patches only what differs. Idempotent. */
  setWeight(config: C, ctx: RouterContext, weight: number, headerRoute: HeaderRoute | null): Promise<void>;
  /** Reads back the weight and header route in force, and whether the data plane accepted them. */
  observe(config: C, ctx: RouterContext): Promise<RouteState>;
  /**
   * Ends the canary: all traffic to the stable Service (which by then selects the new revision after
   * a promotion, or still the old one after an abort), header routes removed, owned objects deleted.
   * Idempotent; "not found" is success.
   */
  finalize(config: C, ctx: RouterContext): Promise<void>;
  /**
   * Pure: the objects through which this configuration sends traffic to Services (the user's and
   * Switchyard's own), which the serving guard reads before any revision is scaled to zero or
   * deleted. Empty for a router that has none. Derived from the configuration alone, so the guard
   * knows them before a release has revisions.
   */
  routeObjects(config: C): RouteObject[];
}
