// The metric providers a metric's `provider:` may name, by their definitions (key, schema, rights):
// the analysis schema, the Kubernetes Role and the docs are built from this list. Their code is
// registered by key in ./index.ts, which the compiler holds to this list.
import type { z } from 'zod';
import { cloudMonitoringDefinition } from './cloud-monitoring/definition.ts';
import { jobDefinition } from './job/definition.ts';
import { prometheusDefinition } from './prometheus/definition.ts';
import { webDefinition } from './web/definition.ts';

export const providerDefinitions = [
  prometheusDefinition,
  cloudMonitoringDefinition,
  webDefinition,
  jobDefinition,
] as const;

type Definitions = typeof providerDefinitions;

/** A provider's key under a metric's `provider:`. */
export type ProviderKind = Definitions[number]['key'];

/** The configuration schema of each provider, by key (a typed map: an unknown key is an error). */
export const providerSchemas = Object.fromEntries(providerDefinitions.map((d) => [d.key, d.schema])) as {
  [D in Definitions[number] as D['key']]: D['schema'];
};

/** The configuration type of each provider, by key. */
export type ProviderConfigs = { [K in ProviderKind]: z.output<(typeof providerSchemas)[K]> };
