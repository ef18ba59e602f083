// The serving guard's rules (SPEC §14: never take down what serves), pure. deployment-writes.ts (refuseIfServing) reads
// the target's Services and its router's objects live and applies these before every scale to zero
// and every delete of a Deployment.
//
// The rule. A Deployment may go to zero replicas, or be deleted, only while no checked Service
// serves it. The checked Services are
// - the target's own (active and preview, or stable and canary), always, whatever the routes say;
// - every Service that a live route object of the target's router references. "References" means
//   the data plane sends it requests now: an HTTPRoute backendRef (kind Service, core group, the
//   route's namespace) with weight > 0 (the API's default is 1), in any rule, Switchyard's header
//   rule included; a path or default backend of an Ingress, and of an ingress-nginx canary Ingress
//   only while it takes traffic (a canary-weight other than 0, or a canary-by-header or
//   canary-by-cookie rule). A weight-0 backendRef, a canary Ingress at weight 0 with no header or
//   cookie rule, and a route object that does not exist reference nothing.
// A checked Service serves the Deployment when its selector names the Deployment's revision, or
// matches its pod labels while no other revision behind it has a ready endpoint, or when, no longer
// selecting it, its EndpointSlices still list the Deployment's pods (not drained yet).
//
// So a reference alone refuses nothing: the routes only add Services to check, and a Service is
// judged by what it sends traffic to. The canary Service left in a route at weight 0 after a
// promotion, or routed to at any weight once it has been re-pointed to the stable revision and
// drained, lets the old revision go; a routed Service that still lists the revision's endpoints
// (its selector moved off or changed a moment ago) keeps it up, and the refusal names the route.
import type { V1Ingress } from '@kubernetes/client-node';
import { type EndpointCounts, labels } from './types.ts';

/** The HTTPRoute API Switchyard reads and weights (Gateway API standard channel, v1). */
export const httpRouteApi = {
  group: 'gateway.networking.k8s.io',
  version: 'v1',
  plural: 'httproutes',
} as const;

const nginxPrefix = 'nginx.ingress.kubernetes.io/';

/** The ingress-nginx canary annotations (docs/user-guide/nginx-configuration/annotations.md#canary). */
export const nginxAnnotations = {
  canary: `${nginxPrefix}canary`,
  weight: `${nginxPrefix}canary-weight`,
  weightTotal: `${nginxPrefix}canary-weight-total`,
  byHeader: `${nginxPrefix}canary-by-header`,
  byHeaderValue: `${nginxPrefix}canary-by-header-value`,
  byHeaderPattern: `${nginxPrefix}canary-by-header-pattern`,
  byCookie: `${nginxPrefix}canary-by-cookie`,
} as const;

/** A backendRef of an HTTPRoute rule, as far as the guard reads it. */
export interface BackendRefView {
  name: string;
  group?: string;
  kind?: string;
  namespace?: string;
  /** Proportional, default 1; 0 sends no traffic. */
  weight?: number;
}

/** An HTTPRoute, as far as the guard reads it. */
export interface HttpRouteView {
  spec?: { rules?: { name?: string; backendRefs?: BackendRefView[] }[] };
}

/** One way a route object sends traffic to a Service of its namespace. */
export interface RouteReference {
  /** The Service the traffic goes to. */
  service: string;
  /** The route object, e.g. `HTTPRoute "web"`. */
  route: string;
  /** Where in it and why it counts, e.g. `rule 0, weight 30`. */
  where: string;
}

/**
 * The Service of `namespace` a backendRef points at (the API's defaults applied: kind Service, core
 * group, the route's namespace), or null for another kind or a Service of another namespace.
 */
export function backendService(ref: BackendRefView, namespace: string): string | null {
  const service = (ref.kind ?? 'Service') === 'Service' && (ref.group ?? '') === '';
  return service && (ref.namespace ?? namespace) === namespace ? ref.name : null;
}

/** Every backendRef of the route, in every rule, that sends traffic (weight > 0) to a Service of `namespace`. */
export function httpRouteReferences(name: string, route: HttpRouteView, namespace: string): RouteReference[] {
  const references: RouteReference[] = [];
  (route.spec?.rules ?? []).forEach((rule, i) => {
    for (const ref of rule.backendRefs ?? []) {
      const weight = ref.weight ?? 1;
      const service = backendService(ref, namespace);
      if (weight <= 0 || service === null) continue;
      const where = rule.name ? `rule "${rule.name}"` : `rule ${i}`;
      references.push({ service, route: `HTTPRoute "${name}"`, where: `${where}, weight ${weight}` });
    }
  });
  return references;
}

// Go's strconv.ParseBool, which ingress-nginx reads the canary annotation with.
const trueValues = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);

/**
 * Why an ingress-nginx canary Ingress takes traffic now (canary-weight other than 0, a header or
 * cookie rule), or null when it takes none. A weight that is not a plain 0 counts: whatever
 * ingress-nginx makes of it, the guard does not bet on nothing.
 */
function canaryTraffic(annotations: Record<string, string>): string | null {
  const why: string[] = [];
  const weight = annotations[nginxAnnotations.weight];
  if (weight !== undefined && !/^\s*[+-]?0+\s*$/.test(weight)) why.push(`canary-weight ${weight}`);
  const header = annotations[nginxAnnotations.byHeader];
  if (header) why.push(`canary-by-header ${header}`);
  const cookie = annotations[nginxAnnotations.byCookie];
  if (cookie) why.push(`canary-by-cookie ${cookie}`);
  return why.length > 0 ? why.join(', ') : null;
}

/**
 * Every Service an Ingress sends traffic to: its paths' and default backends'. An ingress-nginx
 * canary Ingress (canary annotation true) sends to them only while canaryTraffic() says so; any
 * other Ingress always does.
 */
export function ingressReferences(name: string, ingress: V1Ingress): RouteReference[] {
  const annotations = ingress.metadata?.annotations ?? {};
  const canary = trueValues.has(annotations[nginxAnnotations.canary] ?? '');
  const traffic = canary ? canaryTraffic(annotations) : null;
  if (canary && traffic === null) return [];
  const route = canary ? `canary Ingress "${name}"` : `Ingress "${name}"`;
  const why = traffic ? `, ${traffic}` : '';
  const references: RouteReference[] = [];
  const fallback = ingress.spec?.defaultBackend?.service?.name;
  if (fallback) references.push({ service: fallback, route, where: `default backend${why}` });
  for (const rule of ingress.spec?.rules ?? []) {
    for (const path of rule.http?.paths ?? []) {
      const service = path.backend.service?.name;
      if (!service) continue;
      references.push({ service, route, where: `${rule.host ?? '*'}${path.path ?? '/'}${why}` });
    }
  }
  return references;
}

/**
 * Why a Service with `selector` and `counts` (its EndpointSlices' endpoints by revision) still
 * serves the Deployment whose pods carry `podLabels` (revision `revision`, "" for a plain
 * Deployment), in the words of a refusal; null when it does not (see the rule above).
 */
export function servingReason(
  selector: Record<string, string>,
  podLabels: Record<string, string>,
  revision: string,
  counts: EndpointCounts,
): string | null {
  const entries = Object.entries(selector);
  const selects = entries.length > 0 && entries.every(([k, v]) => podLabels[k] === v);
  const othersReady = Object.entries(counts.readyByRevision)
    .filter(([r]) => r !== revision)
    .reduce((sum, [, n]) => sum + n, 0);
  if (selects && (selector[labels.revision] !== undefined || othersReady === 0)) {
    const selectorText = entries.map(([k, v]) => `${k}=${v}`).join(',');
    return `selects it (${selectorText})${othersReady === 0 ? ' and has no other ready endpoint' : ''}`;
  }
  const listed = counts.totalByRevision[revision] ?? 0;
  if (!selects && listed > 0)
    return `still lists ${listed} of its endpoints (EndpointSlices not drained yet)`;
  return null;
}

/** The tail of a refusal naming the routes that send traffic to the Service ("" for none). */
export function throughRoutes(references: RouteReference[]): string {
  if (references.length === 0) return '';
  const shown = references.slice(0, 3).map((r) => `${r.route} (${r.where})`);
  if (references.length > 3) shown.push(`${references.length - 3} more`);
  return `; traffic reaches that Service through ${shown.join(' and ')}`;
}
