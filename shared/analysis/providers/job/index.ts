// The `job` metric provider: runs a Kubernetes Job in the target's namespace and takes its outcome
// as the measurement's verdict (Complete → Successful, Failed → Failed). As in Argo Rollouts' Job
// provider, the Job's name is derived from the measurement (release, run, metric, index), and
// "already exists" means "re-read it and carry on", so a redelivered message never starts a second
// Job. Kubernetes faults become `kind: 'error'` results; measure and resume never throw.
import { createHash } from 'node:crypto';
import { ApiException, BatchV1Api, type V1Job, type V1JobSpec } from '@kubernetes/client-node';
import { apiClient } from '../../../kubernetes/client.ts';
import { annotations, labels, managerName } from '../../../kubernetes/types.ts';
import type { MeasureContext, MetricProvider, ProviderResult } from '../../provider.ts';
import { installationJobPolicy, type JobPolicy, jobPolicyViolations } from './policy.ts';
import type { JobConfig } from './schema.ts';

export { defaultJobPolicy, type JobPolicy, jobPolicyViolations } from './policy.ts';
export { type JobConfig, jobConfigSchema } from './schema.ts';

/** Labels on every Job this provider creates (values via `labelValue`). */
export const jobLabels = {
  release: 'switchyard.dev/release',
  metric: 'switchyard.dev/metric',
  run: 'switchyard.dev/analysis-run',
} as const;

/** The deadline when neither `timeoutSeconds` nor the spec's `activeDeadlineSeconds` gives one. */
export const defaultJobTimeoutSeconds = 1800;
/**
 * Extra time past the deadline before the provider gives up waiting itself: Kubernetes enforces
 * activeDeadlineSeconds from the Job's start, which can come a little after its creation.
 */
const deadlineGraceSeconds = 60;
/** Longest wait for one API call: a black-holed API server must not hold a measurement forever. */
const apiCallTimeoutMs = 30_000;

/**
 * The Job's name for the measurement `ctx` describes: `sy-<metric>-<run>-<index>-<hash>`, where the
 * hash covers release, run, metric and index (so two releases never share a name) and the metric part
 * is a readable, possibly shortened, DNS-safe form. Always a valid DNS label of at most 63 characters.
 */
export function jobName(ctx: Pick<MeasureContext, 'releaseId' | 'run' | 'metric' | 'index'>): string {
  const hash = shortHash(JSON.stringify([ctx.releaseId, ctx.run, ctx.metric, ctx.index]));
  const suffix = `-${ctx.run}-${ctx.index}-${hash}`;
  // 63 minus "sy-", the suffix and a few characters of slack; the Job controller also derives pod
  // names from it (with a random suffix), so shorter is kinder.
  const room = Math.max(0, 56 - 3 - suffix.length);
  const slug = dnsSlug(ctx.metric).slice(0, room).replace(/-+$/, '');
  return `sy-${slug || 'job'}${suffix}`.slice(0, 63);
}

/** `s` as a label value: itself when valid, else a sanitised form with a hash of the original. */
export function labelValue(s: string): string {
  if (s.length <= 63 && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(s)) return s;
  const cleaned = s
    .replace(/[^-A-Za-z0-9_.]+/g, '-')
    .slice(0, 52)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cleaned ? `${cleaned}-${shortHash(s)}` : shortHash(s);
}

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 10);
}

function dnsSlug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** How long the measurement may take, in seconds. */
function deadlineSeconds(config: JobConfig): number {
  return config.timeoutSeconds ?? config.spec.activeDeadlineSeconds ?? defaultJobTimeoutSeconds;
}

/**
 * The Job to create, built purely from the configuration and the measurement: the user's spec with
 * the defaults a one-shot check needs (no retries unless asked: backoffLimit 0; restartPolicy Never,
 * since a pod template's default, Always, is invalid for Jobs; the deadline as activeDeadlineSeconds)
 * and Switchyard's labels, which win over the user's so ownership is never ambiguous.
 */
export function buildJob(config: JobConfig, ctx: MeasureContext): V1Job {
  const spec = structuredClone(config.spec) as unknown as V1JobSpec;
  spec.backoffLimit ??= 0;
  spec.activeDeadlineSeconds ??= deadlineSeconds(config);
  spec.template.spec!.restartPolicy ??= 'Never';
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobName(ctx),
      namespace: ctx.namespace,
      labels: {
        ...config.metadata?.labels,
        [labels.managedBy]: managerName,
        [jobLabels.release]: labelValue(ctx.releaseId),
        [jobLabels.metric]: labelValue(ctx.metric),
        [jobLabels.run]: ctx.run,
      },
      annotations: { ...config.metadata?.annotations, [annotations.release]: ctx.releaseId },
    },
    spec,
  };
}

/**
 * What a Job's status says: a verdict once it has a terminal condition (Complete or Failed, True),
 * else `running` with its name as the state.
 */
export function jobOutcome(job: V1Job): ProviderResult {
  const name = job.metadata?.name ?? '?';
  const conditions = job.status?.conditions ?? [];
  const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
  if (failed) {
    const why = [failed.reason, failed.message].filter(Boolean).join(': ');
    return { kind: 'verdict', phase: 'Failed', message: `Job ${name} failed${why ? ` (${why})` : ''}` };
  }
  if (conditions.some((c) => c.type === 'Complete' && c.status === 'True')) {
    return { kind: 'verdict', phase: 'Successful', message: `Job ${name} completed` };
  }
  const s = job.status;
  return {
    kind: 'running',
    state: { job: name },
    message: `Job ${name}: ${s?.active ?? 0} active, ${s?.succeeded ?? 0} succeeded, ${s?.failed ?? 0} failed`,
  };
}

/** `['spec', 'volumes', 0, 'hostPath']` as `spec.volumes[0].hostPath`. */
function fieldPath(path: readonly (string | number)[]): string {
  return path.reduce<string>(
    (out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${p}` : p),
    '',
  );
}

/**
 * Why the installation's Job policy refuses `config` (every violation, with its path), or null.
 * A policy the environment cannot give is a refusal too: nothing runs under an unknown policy.
 */
function policyRefusal(config: JobConfig, policy: () => JobPolicy): string | null {
  let rules: JobPolicy;
  try {
    rules = policy();
  } catch (err) {
    return `job: no Job created: ${(err as Error).message}`;
  }
  const violations = jobPolicyViolations(config, rules);
  if (violations.length === 0) return null;
  const listed = violations.map((v) => `${fieldPath(v.path)}: ${v.message}`);
  return `job: no Job created, the installation's Job policy refuses it: ${listed.join('; ')}`;
}

/**
 * The `job` provider. `policy`: the installation's Job policy (default: from the environment,
 * read at each measurement).
 */
export function jobProvider(policy: () => JobPolicy = installationJobPolicy): MetricProvider<JobConfig> {
  return {
    /**
     * Creates the measurement's Job, or finds the one an earlier delivery created (409 → re-read),
     * and returns its outcome: usually `running` with `{job: name}`, a verdict if it has finished.
     * A Job of that name that Switchyard did not create is an error, never adopted.
     */
    async measure(config, ctx) {
      // Checked again here, with the functions' own policy, just before anything is created: the
      // configuration may come from a target stored without validate, or before the policy.
      const refused = policyRefusal(config, policy);
      if (refused) return { kind: 'verdict', phase: 'Failed', message: refused };
      const batch = apiClient(ctx.kubeConfig, BatchV1Api);
      const desired = buildJob(config, ctx);
      const name = desired.metadata!.name!;
      let job: V1Job;
      try {
        job = await withTimeout(batch.createNamespacedJob({ namespace: ctx.namespace, body: desired }));
      } catch (err) {
        if (!(err instanceof ApiException && err.code === 409)) {
          return { kind: 'error', message: `job: creating Job ${ctx.namespace}/${name}: ${describe(err)}` };
        }
        try {
          job = await withTimeout(batch.readNamespacedJob({ name, namespace: ctx.namespace }));
        } catch (readErr) {
          // 404 here: deleted between our create and read (cleanup racing a redelivery).
          return {
            kind: 'error',
            message: `job: reading existing Job ${ctx.namespace}/${name}: ${describe(readErr)}`,
          };
        }
        const problem = notOurs(job, ctx);
        if (problem) return { kind: 'error', message: problem };
      }
      return outcomeWithDeadline(job, config, ctx);
    },

    /**
     * Reads the Job again: a verdict once it has finished, `running` while it has not, Failed when
     * it has run past its deadline (plus a grace period), `error` when it is gone (deleted before it
     * finished) or the API cannot be asked.
     */
    async resume(config, ctx, state) {
      const name = state.job ?? jobName(ctx);
      const batch = apiClient(ctx.kubeConfig, BatchV1Api);
      try {
        const job = await withTimeout(batch.readNamespacedJob({ name, namespace: ctx.namespace }));
        return outcomeWithDeadline(job, config, ctx);
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) {
          return {
            kind: 'error',
            message: `job: Job ${ctx.namespace}/${name} no longer exists (deleted before it finished)`,
          };
        }
        return { kind: 'error', message: `job: reading Job ${ctx.namespace}/${name}: ${describe(err)}` };
      }
    },

    /**
     * Deletes the measurement's Job and, in the background, its pods. Idempotent: a Job that is
     * already gone is success. Rejects only when the API refuses or cannot be reached (the caller
     * decides whether that matters; a leftover Job is harmless to later measurements).
     */
    async cleanup(_config, ctx, state) {
      const name = state.job ?? jobName(ctx);
      const batch = apiClient(ctx.kubeConfig, BatchV1Api);
      try {
        await withTimeout(
          batch.deleteNamespacedJob({ name, namespace: ctx.namespace, propagationPolicy: 'Background' }),
        );
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return;
        throw new Error(`job: deleting Job ${ctx.namespace}/${name}: ${describe(err)}`);
      }
    },
  };
}

function outcomeWithDeadline(job: V1Job, config: JobConfig, ctx: MeasureContext): ProviderResult {
  const outcome = jobOutcome(job);
  if (outcome.kind !== 'running') return outcome;
  const created = job.metadata?.creationTimestamp;
  const limit = deadlineSeconds(config) + deadlineGraceSeconds;
  if (created && (ctx.now() - new Date(created).getTime()) / 1000 > limit) {
    return {
      kind: 'verdict',
      phase: 'Failed',
      message: `Job ${job.metadata?.name} did not finish within ${deadlineSeconds(config)} s`,
    };
  }
  return outcome;
}

/** Why an existing Job of our name is not ours to adopt, or undefined when it is. */
function notOurs(job: V1Job, ctx: MeasureContext): string | undefined {
  const l = job.metadata?.labels ?? {};
  const name = `${ctx.namespace}/${job.metadata?.name}`;
  if (l[labels.managedBy] !== managerName || l[jobLabels.release] !== labelValue(ctx.releaseId)) {
    return `job: a Job ${name} exists that this release did not create; not adopting it`;
  }
  if (job.metadata?.deletionTimestamp)
    return `job: Job ${name} is being deleted; measure again once it is gone`;
  return undefined;
}

async function withTimeout<T>(call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${apiCallTimeoutMs / 1000} s`)),
      apiCallTimeoutMs,
    );
  });
  try {
    return await Promise.race([call, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A short account of an API or network error (ApiException's own message carries all headers). */
function describe(err: unknown): string {
  if (err instanceof ApiException) {
    const body = typeof err.body === 'string' ? safeParse(err.body) : err.body;
    const message = (body as { message?: unknown } | undefined)?.message;
    return `HTTP ${err.code}${typeof message === 'string' ? `: ${message}` : ''}`;
  }
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
