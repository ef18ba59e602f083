// The prometheus provider as a plugin: `provider.prometheus`, its schema; it needs no Kubernetes rights.
import type { PluginDefinition } from '../../../plugin.ts';
import { prometheusConfigSchema } from './schema.ts';

export const prometheusDefinition = {
  key: 'prometheus',
  schema: prometheusConfigSchema,
  description: 'A PromQL query against a Prometheus HTTP API or Google Managed Prometheus.',
  rules: [],
} as const satisfies PluginDefinition;
