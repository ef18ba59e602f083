// The `job` provider against the local cluster: real Job controller, pods simulated by kwok stages
// (`switchyard.dev/stage: job-succeed` / `job-fail` end their pod with exit 0 / exit 1 after ~1 s).
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podStages, stageLabel } from '../../infra/local/components/kubernetes.ts';
import { freePort, waitFor } from '../../infra/local/process.ts';
import type { MeasureContext, ProviderResult } from '../../shared/analysis/provider.ts';
import {
  type JobConfig,
  jobConfigSchema,
  jobLabels,
  jobName,
  jobProvider,
  labelValue,
} from '../../shared/analysis/providers/job/index.ts';
import { createTestNamespace, deleteNamespace, type KubeClients, stackKubeClients } from '../support/kube.ts';
import { uniqueId } from '../support/stack.ts';
import { providerContract } from './contract.ts';

const provider = jobProvider();
let clients: KubeClients;
let namespace: string;

function jobConfig(stage: string): JobConfig {
  return jobConfigSchema.parse({
    spec: {
      template: {
        metadata: { labels: { [stageLabel]: stage } },
        spec: { containers: [{ name: 'suite', image: 'example.com/newman:1' }] },
      },
    },
    timeoutSeconds: 120,
  });
}

/** A measurement context of its own (a unique release id), so each test has its own Job name. */
function ctx(over: Partial<MeasureContext> = {}): MeasureContext {
  return {
    namespace,
    releaseId: uniqueId('rel'),
    metric: 'integration-tests',
    index: 0,
    run: 'pre',
    kubeConfig: clients.kubeConfig,
    googleToken: async () => {
      throw new Error('job does not use Google tokens');
    },
    now: () => Date.now(),
    ...over,
  };
}

/** Measures, then resumes until the outcome is not `running` (deadline 30 s). */
async function settle(config: JobConfig, c: MeasureContext): Promise<ProviderResult> {
  let result = await provider.measure(config, c);
  return waitFor(
    async () => {
      if (result.kind === 'running') result = await provider.resume!(config, c, result.state);
      return result.kind === 'running' ? undefined : result;
    },
    { timeoutMs: 30_000, intervalMs: 250, what: 'the Job to finish' },
  );
}

async function jobsOf(c: MeasureContext) {
  const selector = `${jobLabels.release}=${labelValue(c.releaseId)}`;
  return (await clients.batch.listNamespacedJob({ namespace, labelSelector: selector })).items;
}

/** A kubeconfig for a port where nothing listens: every API call is refused. */
async function unreachableKubeConfig(): Promise<KubeConfig> {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'nowhere', server: `https://127.0.0.1:${await freePort()}`, skipTLSVerify: true }],
    users: [{ name: 'nobody', token: 'x' }],
    contexts: [{ name: 'nowhere', cluster: 'nowhere', user: 'nobody' }],
    currentContext: 'nowhere',
  });
  return kc;
}

beforeAll(async () => {
  clients = stackKubeClients();
  namespace = await createTestNamespace('job-provider', clients);
});

afterAll(async () => {
  if (namespace) await deleteNamespace(namespace, clients);
});

describe('job provider', () => {
  it('creates a Job that runs, and gives verdict Successful when its pod exits 0', async () => {
    const c = ctx();
    const first = await provider.measure(jobConfig(podStages.jobSucceed), c);
    expect(first).toMatchObject({ kind: 'running', state: { job: jobName(c) } });
    const job = await clients.batch.readNamespacedJob({ name: jobName(c), namespace });
    expect(job.spec?.backoffLimit).toBe(0);
    expect(job.spec?.activeDeadlineSeconds).toBe(120);
    expect(job.metadata?.labels).toMatchObject({
      [jobLabels.metric]: 'integration-tests',
      [jobLabels.run]: 'pre',
    });
    expect(await settle(jobConfig(podStages.jobSucceed), c)).toMatchObject({
      kind: 'verdict',
      phase: 'Successful',
    });
  });

  it('gives verdict Failed, with the reason, when its pod exits 1', async () => {
    const result = await settle(jobConfig(podStages.jobFail), ctx());
    expect(result).toMatchObject({ kind: 'verdict', phase: 'Failed' });
    // backoffLimit 0: the first failed pod fails the Job.
    expect((result as { message: string }).message).toContain('BackoffLimitExceeded');
  });

  it('creates one Job however often the same measurement is delivered', async () => {
    const c = ctx({ metric: 'redelivered' });
    const config = jobConfig(podStages.jobSucceed);
    const [a, b] = await Promise.all([provider.measure(config, c), provider.measure(config, c)]);
    const third = await provider.measure(config, c);
    for (const r of [a, b, third]) expect(['running', 'verdict']).toContain(r.kind);
    const jobs = await jobsOf(c);
    expect(jobs.map((j) => j.metadata?.name)).toEqual([jobName(c)]);
  });

  it('removes the Job on cleanup, and cleanup of a missing Job is fine', async () => {
    const c = ctx({ metric: 'cleaned' });
    const config = jobConfig(podStages.jobSucceed);
    const result = await settle(config, c);
    expect(result.kind).toBe('verdict');
    // The engine cleans up with an empty state when measure() itself returned the verdict.
    await provider.cleanup!(config, c, {});
    await waitFor(async () => (await jobsOf(c)).length === 0, {
      timeoutMs: 15_000,
      what: 'the Job to be deleted',
    });
    await expect(provider.cleanup!(config, c, { job: jobName(c) })).resolves.toBeUndefined();
  });

  it('reports a Job deleted before it finished as an error', async () => {
    const c = ctx({ metric: 'vanished' });
    const config = jobConfig(podStages.jobSucceed);
    await provider.measure(config, c);
    await provider.cleanup!(config, c, {});
    const result = await waitFor(
      async () => {
        const r = await provider.resume!(config, c, { job: jobName(c) });
        return r.kind === 'error' ? r : undefined;
      },
      { timeoutMs: 15_000, what: 'resume to see the Job gone' },
    );
    expect(result.message).toContain('no longer exists');
  });

  it('refuses to adopt a Job of the same name that it did not create', async () => {
    const c = ctx({ metric: 'squatted' });
    await clients.batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: jobName(c) },
        spec: {
          template: {
            metadata: { labels: { [stageLabel]: podStages.jobSucceed } },
            spec: { restartPolicy: 'Never', containers: [{ name: 'other', image: 'example.com/other:1' }] },
          },
        },
      },
    });
    const result = await provider.measure(jobConfig(podStages.jobSucceed), c);
    expect(result).toMatchObject({ kind: 'error', message: expect.stringContaining('did not create') });
  });

  it('turns an API error into an error result (invalid spec)', async () => {
    const config = jobConfig(podStages.jobSucceed);
    // Past the schema (by a cast), refused by the API server: Jobs' pods may not restart Always.
    const template = {
      ...config.spec.template,
      spec: { ...config.spec.template.spec, restartPolicy: 'Always' },
    };
    const broken = { ...config, spec: { ...config.spec, template } };
    const result = await provider.measure(broken as JobConfig, ctx({ metric: 'invalid' }));
    expect(result).toMatchObject({ kind: 'error', message: expect.stringContaining('HTTP 422') });
  });

  it('cleanup rejects when the API cannot be reached', async () => {
    const c = ctx({ kubeConfig: await unreachableKubeConfig() });
    await expect(provider.cleanup!(jobConfig(podStages.jobSucceed), c, {})).rejects.toThrow(/deleting Job/);
  });
});

providerContract({
  name: 'job',
  provider,
  working: async () => ({ config: jobConfig(podStages.jobSucceed), ctx: ctx({ metric: 'contract' }) }),
  unreachable: async () => ({
    config: jobConfig(podStages.jobSucceed),
    ctx: ctx({ metric: 'contract', kubeConfig: await unreachableKubeConfig() }),
  }),
});
