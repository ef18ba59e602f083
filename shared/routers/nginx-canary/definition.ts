// The nginx-canary router as a plugin: `trafficRouting.nginx`, its schema, its rights.
import type { PluginDefinition } from '../../plugin.ts';
import { nginxCanaryConfigSchema } from './schema.ts';

export const nginxCanaryDefinition = {
  key: 'nginx',
  schema: nginxCanaryConfigSchema,
  description: "NGINX Ingress: a canary Ingress `<stableIngress>-canary` beside the user's Ingress.",
  rules: [
    {
      apiGroups: ['networking.k8s.io'],
      resources: ['ingresses'],
      verbs: ['get', 'create', 'patch', 'delete'],
      why: "the NGINX canary Ingress beside the user's (which it only reads)",
    },
  ],
} as const satisfies PluginDefinition;
