// The `gateway-httproute` traffic router: splits traffic between the stable and canary Services by
// the backendRefs weights of the user's Gateway API HTTPRoute (what GKE Gateway implements), and
// routes header matches to the canary through one extra rule that Switchyard names and owns.
//
// Every write is computed purely from what was read (desiredRules), compared with it, and sent only
// when it differs, as a merge patch conditioned on the resourceVersion read: a redelivered step
// writes nothing, and a concurrent edit of the route ends in a retriable 'conflict'. Like Flagger's
// Gateway API router, observe() reports the route as taken only when every parent (Gateway) has
// Accepted it at its current generation: a new weight bumps the generation, so a step cannot
// complete on a status that still describes the previous weights.

import { isDeepStrictEqual } from 'node:util';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { invalid } from '../../errors.ts';
import { apiClient } from '../../kubernetes/client.ts';
import { toClusterError } from '../../kubernetes/errors.ts';
import { backendService, httpRouteApi } from '../../kubernetes/guard.ts';
import { managerName } from '../../kubernetes/types.ts';
import type { HeaderRoute, RouterContext, RouteState, TrafficRouter } from '../router.ts';
import type { GatewayHttpRouteConfig } from './schema.ts';

export { type GatewayHttpRouteConfig, gatewayHttpRouteConfigSchema } from './schema.ts';

/** The HTTPRoute API this router speaks (Gateway API standard channel, v1; the guard reads it too). */
export { httpRouteApi };

/**
 * Prefix of the `name` of every rule Switchyard adds to an HTTPRoute (HTTPRouteRule has had a
 * `name` since Gateway API v1.2). It is how Switchyard finds its own rules again and never touches
 * the user's.
 */
export const ownRulePrefix = 'switchyard-header-';

/** The parts of a backendRef Switchyard reads; every other field is carried over untouched. */
export interface BackendRef {
  name: string;
  group?: string;
  kind?: string;
  namespace?: string;
  port?: number;
  /** Proportional, default 1; 0 sends no traffic. */
  weight?: number;
  [field: string]: unknown;
}

export interface HttpRouteMatch {
  path?: { type?: string; value?: string };
  headers?: { type?: string; name: string; value: string }[];
  [field: string]: unknown;
}

export interface HttpRouteRule {
  name?: string;
  matches?: HttpRouteMatch[];
  backendRefs?: BackendRef[];
  [field: string]: unknown;
}

interface Condition {
  type: string;
  status: string;
  observedGeneration?: number;
  reason?: string;
  message?: string;
}

/** An HTTPRoute as far as this router reads it. */
export interface HttpRoute {
  metadata?: { name?: string; namespace?: string; generation?: number; resourceVersion?: string };
  spec?: { rules?: HttpRouteRule[]; [field: string]: unknown };
  status?: {
    parents?: { parentRef?: { name?: string }; controllerName?: string; conditions?: Condition[] }[];
  };
}

/** The Services of a canary, as the pure functions below need them. */
type Services = Pick<RouterContext, 'namespace' | 'stableService' | 'canaryService'>;

// Merge patch: the route's `rules` list is replaced as a whole by the list computed from it.
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** True when the backendRef points at Service `service` of `namespace` (the API's defaults applied). */
function refersTo(ref: BackendRef, service: string, namespace: string): boolean {
  return backendService(ref, namespace) === service;
}

function isOwnRule(rule: HttpRouteRule): boolean {
  return rule.name?.startsWith(ownRulePrefix) === true;
}

/** The rule name of a header route: a DNS subdomain, as the CRD requires of rule names. */
export function headerRuleName(route: HeaderRoute): string {
  const slug = route.name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `${ownRulePrefix}${slug || 'route'}`.slice(0, 253).replace(/-+$/, '');
}

/**
 * Indexes (into the user's rules, Switchyard's own rules left out) of the rules whose backendRefs
 * are weighted: `config.rule`, or every rule referencing the stable or canary Service. Throws
 * 'invalid' when there is none, or when `config.rule` is out of range.
 */
export function weightedRuleIndexes(
  userRules: HttpRouteRule[],
  config: GatewayHttpRouteConfig,
  svc: Services,
): number[] {
  if (config.rule !== undefined) {
    if (config.rule >= userRules.length) {
      throw invalid(
        `HTTPRoute "${config.httpRoute}" has ${userRules.length} rule(s): there is no rule ${config.rule} to weight; fix trafficRouting.gatewayAPI.rule`,
      );
    }
    return [config.rule];
  }
  const indexes = userRules.flatMap((rule, i) =>
    (rule.backendRefs ?? []).some(
      (ref) =>
        refersTo(ref, svc.stableService, svc.namespace) || refersTo(ref, svc.canaryService, svc.namespace),
    )
      ? [i]
      : [],
  );
  if (indexes.length === 0) {
    throw invalid(
      `HTTPRoute "${config.httpRoute}" in namespace "${svc.namespace}" has no rule with a backendRef to Service "${svc.stableService}": point a rule at the stable Service`,
    );
  }
  return indexes;
}

/**
 * The backendRef of the stable Service in a weighted rule, which the canary's is copied from (same
 * port, filters and other fields). Throws 'invalid' when the rule has none, or has backendRefs to
 * other backends: Switchyard splits a rule between exactly the two Services and must not silently
 * drop a third.
 */
function stableRefOf(rule: HttpRouteRule, index: number, config: GatewayHttpRouteConfig, svc: Services) {
  const refs = rule.backendRefs ?? [];
  const stable = refs.find((ref) => refersTo(ref, svc.stableService, svc.namespace));
  const where = `rule ${index} of HTTPRoute "${config.httpRoute}" in namespace "${svc.namespace}"`;
  if (!stable) throw invalid(`${where} has no backendRef to the stable Service "${svc.stableService}"`);
  const others = refs.filter(
    (ref) =>
      !refersTo(ref, svc.stableService, svc.namespace) && !refersTo(ref, svc.canaryService, svc.namespace),
  );
  if (others.length > 0) {
    throw invalid(
      `${where} also sends traffic to ${others.map((r) => `"${r.name}"`).join(', ')}: a weighted rule may reference only the stable and canary Services`,
    );
  }
  return stable;
}

/**
 * Pure: the rules the route should have for `weight` (0..100) and `headerRoute`, or, with `weight`
 * null, the rules after the canary (stable Service alone, no header rule). Weighted rules get
 * backendRefs [stable 100-w, canary w] (stable alone when finalizing); a header route becomes one
 * rule placed first, named `ownRulePrefix…`, matching the header (on the paths of the first weighted
 * rule) and sending to the canary only. Everything else is carried over as read.
 */
export function desiredRules(
  rules: HttpRouteRule[],
  config: GatewayHttpRouteConfig,
  svc: Services,
  weight: number | null,
  headerRoute: HeaderRoute | null,
): HttpRouteRule[] {
  const userRules = rules.filter((r) => !isOwnRule(r));
  const weighted = weightedRuleIndexes(userRules, config, svc);
  const next = userRules.map((rule, i) => {
    if (!weighted.includes(i)) return rule;
    const stable = stableRefOf(rule, i, config, svc);
    const backendRefs: BackendRef[] =
      weight === null
        ? [{ ...stable, weight: 100 }]
        : [
            { ...stable, weight: 100 - weight },
            { ...stable, name: svc.canaryService, weight },
          ];
    return { ...rule, backendRefs };
  });
  if (weight === null || headerRoute === null) return next;

  const header = headerRoute.header;
  if (!header || headerRoute.cookie !== undefined) {
    throw invalid(
      `header route "${headerRoute.name}": an HTTPRoute matches on headers only; give a header match (cookie routing is the nginx router's)`,
    );
  }
  const first = userRules[weighted[0]!]!;
  // The header rule must not widen what reaches the canary beyond the weighted rule's paths.
  const paths = (first.matches ?? []).flatMap((m) => (m.path ? [m.path] : []));
  const headers = [{ type: 'Exact', name: header.name, value: header.value }];
  const matches = paths.length > 0 ? paths.map((path) => ({ path, headers })) : [{ headers }];
  const stable = stableRefOf(first, weighted[0]!, config, svc);
  // weight 1 is the API default: written out so the read-back equals what was written.
  const rule: HttpRouteRule = {
    name: headerRuleName(headerRoute),
    matches,
    backendRefs: [{ ...stable, name: svc.canaryService, weight: 1 }],
  };
  return [rule, ...next];
}

/** The canary's share (0..100, rounded) of a rule's traffic, by proportional weights (default 1). */
function canaryShare(rule: HttpRouteRule, svc: Services): number {
  let total = 0;
  let canary = 0;
  for (const ref of rule.backendRefs ?? []) {
    const w = ref.weight ?? 1;
    total += w;
    if (refersTo(ref, svc.canaryService, svc.namespace)) canary += w;
  }
  return total > 0 ? Math.round((100 * canary) / total) : 0;
}

/**
 * Pure: the state a read route is in. `weight` is the canary's share in the (first) weighted rule;
 * `accepted` needs every entry of status.parents to carry Accepted=True observed at the route's
 * current generation, and at least one entry (no Gateway has looked at the route yet otherwise).
 */
export function routeState(route: HttpRoute, config: GatewayHttpRouteConfig, svc: Services): RouteState {
  const rules = route.spec?.rules ?? [];
  const userRules = rules.filter((r) => !isOwnRule(r));
  const shares = weightedRuleIndexes(userRules, config, svc).map((i) => canaryShare(userRules[i]!, svc));
  const weight = shares[0]!;

  const own = rules.find(isOwnRule);
  const header = own?.matches?.[0]?.headers?.[0];
  const headerRoute: HeaderRoute | null = own
    ? {
        name: own.name!.slice(ownRulePrefix.length),
        ...(header ? { header: { name: header.name, value: header.value } } : {}),
      }
    : null;

  const problems: string[] = [];
  if (new Set(shares).size > 1) {
    problems.push(`the weighted rules disagree (canary shares ${shares.join(', ')} %)`);
  }
  const generation = route.metadata?.generation;
  const parents = route.status?.parents ?? [];
  if (parents.length === 0)
    problems.push('no Gateway has reported on the route yet (status.parents is empty)');
  for (const p of parents) {
    const c = p.conditions?.find((x) => x.type === 'Accepted');
    const who = `parent "${p.parentRef?.name ?? '?'}" (${p.controllerName ?? 'unknown controller'})`;
    if (!c) problems.push(`${who} has no Accepted condition`);
    else if (c.observedGeneration !== generation) {
      problems.push(
        `${who} has not observed generation ${generation} yet (saw ${c.observedGeneration ?? 'none'})`,
      );
    } else if (c.status !== 'True') {
      problems.push(`${who} did not accept it: ${c.reason ?? ''} ${c.message ?? ''}`.trim());
    }
  }
  const state: RouteState = { weight, headerRoute, accepted: problems.length === 0 };
  if (problems.length > 0) state.message = `HTTPRoute "${config.httpRoute}": ${problems.join('; ')}`;
  return state;
}

async function readRoute(api: CustomObjectsApi, config: GatewayHttpRouteConfig, namespace: string) {
  try {
    return (await api.getNamespacedCustomObject({
      ...httpRouteApi,
      namespace,
      name: config.httpRoute,
    })) as HttpRoute;
  } catch (err) {
    throw toClusterError(err, `reading HTTPRoute "${config.httpRoute}" in namespace "${namespace}"`);
  }
}

/** Reads the route, computes its rules, and patches them only when they differ from what was read. */
async function reconcile(
  config: GatewayHttpRouteConfig,
  ctx: RouterContext,
  weight: number | null,
  headerRoute: HeaderRoute | null,
): Promise<void> {
  const api = apiClient(ctx.kubeConfig, CustomObjectsApi);
  const route = await readRoute(api, config, ctx.namespace);
  const current = route.spec?.rules ?? [];
  const rules = desiredRules(current, config, ctx, weight, headerRoute);
  if (isDeepStrictEqual(rules, current)) return;
  try {
    await api.patchNamespacedCustomObject(
      {
        ...httpRouteApi,
        namespace: ctx.namespace,
        name: config.httpRoute,
        fieldManager: managerName,
        body: { metadata: { resourceVersion: route.metadata?.resourceVersion }, spec: { rules } },
      },
      mergePatch,
    );
  } catch (err) {
    throw toClusterError(
      err,
      `setting the weights of HTTPRoute "${config.httpRoute}" in namespace "${ctx.namespace}"`,
    );
  }
}

function checkWeight(weight: number): void {
  if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
    throw invalid(`weight ${weight} is not a whole percentage (0..100)`);
  }
}

/**
 * The Gateway API router. It changes only the backendRefs of the weighted rules and its own
 * `switchyard-header-…` rule; a missing HTTPRoute is a 'not-found' ClusterError from prepare,
 * setWeight and observe.
 */
export const gatewayHttpRouteRouter: TrafficRouter<GatewayHttpRouteConfig> = {
  /** Weight 0 with the canary's backendRef present (weight 0), and no header route. Idempotent. */
  async prepare(config, ctx) {
    await reconcile(config, ctx, 0, null);
  },

  /** Idempotent: no write when the route already carries these weights and this header rule. */
  async setWeight(config, ctx, weight, headerRoute) {
    checkWeight(weight);
    await reconcile(config, ctx, weight, headerRoute);
  },

  /** Reads only; see routeState() for what `accepted` requires. */
  async observe(config, ctx) {
    const api = apiClient(ctx.kubeConfig, CustomObjectsApi);
    return routeState(await readRoute(api, config, ctx.namespace), config, ctx);
  },

  /**
   * Weighted rules back to the stable Service alone (weight 100), header rules removed. Idempotent;
   * a missing HTTPRoute is success (nothing routes to the canary through it).
   */
  async finalize(config, ctx) {
    try {
      await reconcile(config, ctx, null, null);
    } catch (err) {
      if ((err as { kind?: unknown }).kind !== 'not-found') throw err;
    }
  },

  /** The user's HTTPRoute: every backendRef with weight > 0 in any of its rules reaches a Service. */
  routeObjects(config) {
    return [{ kind: 'HTTPRoute', name: config.httpRoute }];
  },
};
