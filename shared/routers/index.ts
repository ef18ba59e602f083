// The registry of traffic routers: a canary's trafficRouting names one (gatewayAPI, nginx); without
// it, the weight is approximated by replica counts behind the stable Service.
import type { RouteObject } from '../kubernetes/types.ts';
import type { CanaryStrategy } from '../target/canary.ts';
import { gatewayHttpRouteRouter } from './gateway-httproute/index.ts';
import { nginxCanaryRouter } from './nginx-canary/index.ts';
import type { TrafficRouter } from './router.ts';
import { serviceSelectorRouter } from './service-selector/index.ts';

export type RouterKind = 'gatewayAPI' | 'nginx' | 'none';

export interface ChosenRouter {
  kind: RouterKind;
  router: TrafficRouter<never>;
  config: unknown;
}

const nginx = nginxCanaryRouter();

export function routerFor(canary: CanaryStrategy): ChosenRouter {
  const routing = canary.trafficRouting;
  if (routing && 'gatewayAPI' in routing) {
    return {
      kind: 'gatewayAPI',
      router: gatewayHttpRouteRouter as TrafficRouter<never>,
      config: routing.gatewayAPI,
    };
  }
  if (routing && 'nginx' in routing)
    return { kind: 'nginx', router: nginx as TrafficRouter<never>, config: routing.nginx };
  return { kind: 'none', router: serviceSelectorRouter as TrafficRouter<never>, config: {} };
}

/** The route objects the serving guard reads for a canary (its router's routeObjects()). */
export function routeObjectsFor(canary: CanaryStrategy): RouteObject[] {
  const { router, config } = routerFor(canary);
  return router.routeObjects(config as never);
}
