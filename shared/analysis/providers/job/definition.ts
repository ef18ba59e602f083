// The job provider as a plugin: `provider.job`, its schema, and the rights to run its Jobs.
import type { PluginDefinition } from '../../../plugin.ts';
import { jobConfigSchema } from './schema.ts';

export const jobDefinition = {
  key: 'job',
  schema: jobConfigSchema,
  description: "A Kubernetes Job in the target's namespace; its outcome is the measurement's verdict.",
  rules: [
    {
      apiGroups: ['batch'],
      resources: ['jobs'],
      verbs: ['get', 'create', 'delete'],
      why: 'the `job` metric provider: one Job per measurement, removed when it has finished',
    },
  ],
} as const satisfies PluginDefinition;
