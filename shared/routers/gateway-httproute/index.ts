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
//
// This file is the module's entry and the router, which reads the route, has desired-rules.ts compute
// what to write and route-state.ts what is in force (over the route's shape in http-route.ts), and
// sends the patch.

import { isDeepStrictEqual } from 'node:util';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { invalid } from '../../errors.ts';
import { apiClient } from '../../kubernetes/client.ts';
import { toClusterError } from '../../kubernetes/errors.ts';
import { httpRouteApi } from '../../kubernetes/guard.ts';
import { managerName } from '../../kubernetes/types.ts';
import type { HeaderRoute, RouterContext, TrafficRouter } from '../router.ts';
import { desiredRules } from './desired-rules.ts';
import type { HttpRoute } from './http-route.ts';
import { routeState } from './route-state.ts';
import type { GatewayHttpRouteConfig } from './schema.ts';

export { desiredRules, headerRuleName } from './desired-rules.ts';
export {
  type BackendRef,
  type HttpRoute,
  type HttpRouteMatch,
  type HttpRouteRule,
  ownRulePrefix,
  weightedRuleIndexes,
} from './http-route.ts';
export { routeState } from './route-state.ts';
export { type GatewayHttpRouteConfig, gatewayHttpRouteConfigSchema } from './schema.ts';

/** The HTTPRoute API this router speaks (Gateway API standard channel, v1; the guard reads it too). */
export { httpRouteApi };

// Merge patch: the route's `rules` list is replaced as a whole by the list computed from it.
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

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
