// The configuration schema of every metric provider, by the key that names it in a metric's
// `provider:` (a typed map: an unknown key is an error, never a silent fallback).
import { cloudMonitoringConfigSchema } from './cloud-monitoring/schema.ts';
import { jobConfigSchema } from './job/schema.ts';
import { prometheusConfigSchema } from './prometheus/schema.ts';
import { webConfigSchema } from './web/schema.ts';

export const providerSchemas = {
  prometheus: prometheusConfigSchema,
  cloudMonitoring: cloudMonitoringConfigSchema,
  web: webConfigSchema,
  job: jobConfigSchema,
} as const;

export type ProviderKind = keyof typeof providerSchemas;
