// The code of each traffic router, by the key of its definition (registry.ts): the compiler refuses
// a definition without its router. A canary's trafficRouting names one; without it, the weight is
// approximated by replica counts behind the stable Service (service-selector).
import { invalid } from '../errors.ts';
import type { RouteObject } from '../kubernetes/types.ts';
import type { CanaryStrategy } from '../target/canary.ts';
import { gatewayHttpRouteRouter } from './gateway-httproute/index.ts';
import { nginxCanaryRouter } from './nginx-canary/index.ts';
import { type RouterConfigs, type RouterKey, routerDefinitions } from './registry.ts';
import type { TrafficRouter } from './router.ts';
import { serviceSelectorRouter } from './service-selector/index.ts';

export type RouterKind = RouterKey | 'none';

const routers: { [K in RouterKey]: TrafficRouter<RouterConfigs[K]> } = {
  gatewayAPI: gatewayHttpRouteRouter,
  nginx: nginxCanaryRouter(),
};

export interface ChosenRouter {
  kind: RouterKind;
  router: TrafficRouter<never>;
  config: unknown;
}

/** The router a canary names, with its configuration; an unknown key is an error, never replica ratio. */
export function routerFor(canary: CanaryStrategy): ChosenRouter {
  const routing = canary.trafficRouting as Record<string, unknown> | undefined;
  if (!routing) return { kind: 'none', router: serviceSelectorRouter as TrafficRouter<never>, config: {} };
  const keys = Object.keys(routing);
  const known = routerDefinitions.map((d) => d.key as RouterKey);
  const key = known.find((k) => keys.includes(k));
  if (!key || keys.length !== 1) {
    throw invalid(
      `trafficRouting must name exactly one router (${known.join(', ')}), not ${keys.join(', ') || 'none'}`,
    );
  }
  return { kind: key, router: routers[key] as TrafficRouter<never>, config: routing[key] };
}

/** The route objects the serving guard reads for a canary (its router's routeObjects()). */
export function routeObjectsFor(canary: CanaryStrategy): RouteObject[] {
  const { router, config } = routerFor(canary);
  return router.routeObjects(config as never);
}
