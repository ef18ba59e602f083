// The web provider as a plugin: `provider.web`, its schema, and the right to reach a Service
// through the API server's service proxy.
import type { PluginDefinition } from '../../../plugin.ts';
import { webConfigSchema } from './schema.ts';

export const webDefinition = {
  key: 'web',
  schema: webConfigSchema,
  description: "One HTTP request, to a URL or to a Service through the API server's proxy.",
  rules: [
    {
      apiGroups: [''],
      resources: ['services/proxy'],
      verbs: ['get', 'create', 'update'],
      why: 'the `web` metric provider reaching a Service through the API server',
    },
  ],
} as const satisfies PluginDefinition;
