// The gateway-httproute router as a plugin: `trafficRouting.gatewayAPI`, its schema, its rights.
import type { PluginDefinition } from '../../plugin.ts';
import { gatewayHttpRouteConfigSchema } from './schema.ts';

export const gatewayHttpRouteDefinition = {
  key: 'gatewayAPI',
  schema: gatewayHttpRouteConfigSchema,
  description: "Gateway API: the weights of the user's HTTPRoute backendRefs.",
  rules: [
    {
      apiGroups: ['gateway.networking.k8s.io'],
      resources: ['httproutes'],
      verbs: ['get', 'patch'],
      why: "Gateway API weights in the user's HTTPRoute",
    },
  ],
} as const satisfies PluginDefinition;
