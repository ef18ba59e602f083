// The cloud-monitoring provider as a plugin: `provider.cloudMonitoring`, its schema; it needs no
// Kubernetes rights (it reads Cloud Monitoring with the function's identity).
import type { PluginDefinition } from '../../../plugin.ts';
import { cloudMonitoringConfigSchema } from './schema.ts';

export const cloudMonitoringDefinition = {
  key: 'cloudMonitoring',
  schema: cloudMonitoringConfigSchema,
  description: 'Cloud Monitoring time series of one metric type over a window ending now.',
  rules: [],
} as const satisfies PluginDefinition;
