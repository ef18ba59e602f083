// The rules the gateway-httproute router writes, computed purely from the rules read: the weighted
// rules' backendRefs [stable 100-w, canary w] (stable alone when finalizing), and the one rule of
// Switchyard's own that sends a header route to the canary.
import { invalid } from '../../errors.ts';
import type { HeaderRoute } from '../router.ts';
import {
  type BackendRef,
  type HttpRouteRule,
  isOwnRule,
  ownRulePrefix,
  refersTo,
  type Services,
  weightedRuleIndexes,
} from './http-route.ts';
import type { GatewayHttpRouteConfig } from './schema.ts';

/** The rule name of a header route: a DNS subdomain, as the CRD requires of rule names. */
export function headerRuleName(route: HeaderRoute): string {
  const slug = route.name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `${ownRulePrefix}${slug || 'route'}`.slice(0, 253).replace(/-+$/, '');
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
