// What every plugin (a traffic router, a metric provider) declares beside its code, so that the
// ReleaseTarget schema, the Kubernetes Role, the JSON Schema and the README reference are built
// from one place: its key in a target, its configuration schema and the Kubernetes rights its code
// uses. A new plugin is one folder with a `definition.ts` and one line in its registry.
import type { z } from 'zod';

/** One rule of Switchyard's Role in a target namespace. */
export interface PolicyRule {
  apiGroups: readonly string[];
  resources: readonly string[];
  verbs: readonly string[];
  /** What Switchyard does with these rights: the "used for" column of infra/DEPLOY.md (npm run docs). */
  why: string;
}

export interface PluginDefinition<K extends string = string, S extends z.ZodType = z.ZodType> {
  /** Its name in a target (`trafficRouting.<key>`, a metric's `provider.<key>`). */
  key: K;
  /** Its configuration, strict, with descriptions: what validate accepts is what its code drives. */
  schema: S;
  /** One sentence for the schema and the reference. */
  description: string;
  /** The Kubernetes rights its code uses in a target namespace, beyond the engine's own. */
  rules: readonly PolicyRule[];
}
