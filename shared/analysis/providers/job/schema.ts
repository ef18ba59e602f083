// Configuration of the `job` metric provider: a Kubernetes Job run in the target's namespace (e.g. an
// integration test suite against the preview Service); its outcome is the measurement's verdict.
// The Job spec is kept loose (the API server validates it in full); only what the provider relies on
// is checked here, so a typo in the essentials fails when the target is applied, not mid-release,
// and so is the installation's Job policy (policy.ts): which service accounts, nothing privileged.
import { z } from 'zod';
import { installationJobPolicy, jobPolicyViolations } from './policy.ts';

const stringMap = z.record(z.string(), z.string());

export const jobConfigSchema = z
  .strictObject({
    /** A batch/v1 JobSpec, as in a Job manifest. */
    spec: z.looseObject({
      template: z.looseObject({
        metadata: z
          .looseObject({ labels: stringMap.optional(), annotations: stringMap.optional() })
          .optional(),
        spec: z.looseObject({
          containers: z
            .array(z.looseObject({ name: z.string().min(1), image: z.string().min(1).optional() }))
            .min(1, 'the pod template needs at least one container'),
          restartPolicy: z.enum(['Never', 'OnFailure']).optional(),
        }),
      }),
      backoffLimit: z.int().min(0).optional(),
      activeDeadlineSeconds: z.int().min(1).optional(),
    }),
    /** Extra labels and annotations for the Job (Switchyard's own labels take precedence). */
    metadata: z.strictObject({ labels: stringMap.optional(), annotations: stringMap.optional() }).optional(),
    /**
     * How long the Job may take: becomes the Job's activeDeadlineSeconds unless the spec sets one, and
     * bounds how long the measurement waits for it.
     */
    timeoutSeconds: z.int().min(1).optional(),
  })
  .superRefine((config, ctx) => {
    let policy: ReturnType<typeof installationJobPolicy>;
    try {
      policy = installationJobPolicy();
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return;
    }
    for (const v of jobPolicyViolations(config, policy)) {
      ctx.addIssue({ code: 'custom', path: v.path, message: v.message });
    }
  });

/** A validated `job` configuration. */
export type JobConfig = z.output<typeof jobConfigSchema>;
