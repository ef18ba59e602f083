// The shape of an HTTPRoute as the gateway-httproute router reads and writes it, and the facts about
// a route that both the rules it writes (desired-rules.ts) and the state it reads back
// (route-state.ts) go by: which rules are Switchyard's own, which backendRef is which Service, and
// which of the user's rules carry the weights.
import { invalid } from '../../errors.ts';
import { backendService } from '../../kubernetes/guard.ts';
import type { RouterContext } from '../router.ts';
import type { GatewayHttpRouteConfig } from './schema.ts';

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

/** The Services of a canary, as the pure functions of this router need them. */
export type Services = Pick<RouterContext, 'namespace' | 'stableService' | 'canaryService'>;

/** True when the backendRef points at Service `service` of `namespace` (the API's defaults applied). */
export function refersTo(ref: BackendRef, service: string, namespace: string): boolean {
  return backendService(ref, namespace) === service;
}

export function isOwnRule(rule: HttpRouteRule): boolean {
  return rule.name?.startsWith(ownRulePrefix) === true;
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
