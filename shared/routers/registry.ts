// The traffic routers a canary's `trafficRouting` may name, by their definitions (key, schema,
// rights): the ReleaseTarget schema, the Kubernetes Role and the docs are built from this list.
// Their code is registered by key in ./index.ts, which the compiler holds to this list. Without
// trafficRouting, the weight is approximated by replica counts (service-selector, no rights of its
// own beyond the engine's).
import { z } from 'zod';
import type { PluginDefinition } from '../plugin.ts';
import { gatewayHttpRouteDefinition } from './gateway-httproute/definition.ts';
import { nginxCanaryDefinition } from './nginx-canary/definition.ts';

export const routerDefinitions = [gatewayHttpRouteDefinition, nginxCanaryDefinition] as const;

type Definitions = typeof routerDefinitions;

/** A router's key under trafficRouting. */
export type RouterKey = Definitions[number]['key'];

type Entry<D> =
  D extends PluginDefinition<infer K, infer S> ? z.ZodObject<{ [P in K]: S }, z.core.$strict> : never;
type Entries<T extends readonly PluginDefinition[]> = { -readonly [I in keyof T]: Entry<T[I]> };

function entry<K extends string, S extends z.ZodType>(d: PluginDefinition<K, S>) {
  return z.strictObject({ [d.key]: d.schema.describe(d.description) } as { [P in K]: S });
}

/** `trafficRouting`: exactly one router, by its key; an unknown key is refused. */
export const trafficRoutingSchema = z.union(
  routerDefinitions.map((d: PluginDefinition) => entry(d)) as unknown as Entries<Definitions>,
);

/** The configuration type of each router, by key. */
export type RouterConfigs = { [D in Definitions[number] as D['key']]: z.output<D['schema']> };
