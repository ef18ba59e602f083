// What the gateway-httproute router reads back, purely: the canary's share of the weighted rules,
// the header route of Switchyard's own rule, and whether every Gateway has accepted the route at
// its current generation.
import type { HeaderRoute, RouteState } from '../router.ts';
import {
  type HttpRoute,
  type HttpRouteRule,
  isOwnRule,
  ownRulePrefix,
  refersTo,
  type Services,
  weightedRuleIndexes,
} from './http-route.ts';
import type { GatewayHttpRouteConfig } from './schema.ts';

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
