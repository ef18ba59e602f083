import { KubeConfig, type V1Job } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { MeasureContext } from '../../provider.ts';
import { buildJob, jobConfigSchema, jobLabels, jobName, jobOutcome, labelValue } from './index.ts';

const ctx: MeasureContext = {
  namespace: 'shop',
  releaseId: 'rel-1',
  metric: 'Integration Tests',
  index: 2,
  run: 'post',
  kubeConfig: new KubeConfig(),
  googleToken: async () => 't',
  now: () => 0,
};

const config = jobConfigSchema.parse({
  spec: { template: { spec: { containers: [{ name: 'newman', image: 'postman/newman:6' }] } } },
});

describe('job config', () => {
  it.each<[string, unknown]>([
    ['no containers', { spec: { template: { spec: { containers: [] } } } }],
    ['no template', { spec: {} }],
    [
      'restartPolicy Always',
      { spec: { template: { spec: { restartPolicy: 'Always', containers: [{ name: 'a' }] } } } },
    ],
    ['an unknown top-level field', { ...config, image: 'x' }],
    ['a negative backoffLimit', { spec: { ...config.spec, backoffLimit: -1 } }],
  ])('rejects %s', (_what, input) => {
    expect(jobConfigSchema.safeParse(input).success).toBe(false);
  });

  it('keeps the rest of a Job spec as written', () => {
    const parsed = jobConfigSchema.parse({
      spec: { ...config.spec, parallelism: 2, template: { ...config.spec.template, extra: { a: 1 } } },
    });
    expect(parsed.spec).toMatchObject({ parallelism: 2, template: { extra: { a: 1 } } });
  });
});

describe('jobName', () => {
  it('is deterministic, readable and a DNS label', () => {
    expect(jobName(ctx)).toBe(jobName({ ...ctx }));
    expect(jobName(ctx)).toMatch(/^sy-integration-tests-post-2-[0-9a-f]{10}$/);
  });

  it('differs for every part of the measurement', () => {
    const names = new Set([
      jobName(ctx),
      jobName({ ...ctx, releaseId: 'rel-2' }),
      jobName({ ...ctx, run: 'pre' }),
      jobName({ ...ctx, metric: 'smoke' }),
      jobName({ ...ctx, index: 3 }),
    ]);
    expect(names.size).toBe(5);
  });

  it('stays within 63 characters for long or odd metric names', () => {
    for (const metric of ['x'.repeat(300), '---', 'Ünïcode ✓', '']) {
      const name = jobName({ ...ctx, metric, index: 123456 });
      expect(name.length).toBeLessThanOrEqual(63);
      expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });
});

describe('labelValue', () => {
  it('keeps valid values and makes invalid ones valid and distinct', () => {
    expect(labelValue('rel-1')).toBe('rel-1');
    for (const s of ['shop/web@2024', 'x'.repeat(80), '-lead', '%%%']) {
      const v = labelValue(s);
      expect(v.length).toBeLessThanOrEqual(63);
      expect(v).toMatch(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
    }
    expect(labelValue('a/b')).not.toBe(labelValue('a:b'));
  });
});

describe('buildJob', () => {
  it('adds the one-shot defaults, the deadline and the ownership labels', () => {
    const job = buildJob(
      { ...config, metadata: { labels: { team: 'qa', [jobLabels.release]: 'spoofed' } } },
      ctx,
    );
    expect(job.metadata).toMatchObject({
      name: jobName(ctx),
      namespace: 'shop',
      labels: {
        team: 'qa',
        'app.kubernetes.io/managed-by': 'switchyard',
        [jobLabels.release]: 'rel-1',
        [jobLabels.metric]: labelValue('Integration Tests'),
        [jobLabels.run]: 'post',
      },
      annotations: { 'switchyard.dev/release': 'rel-1' },
    });
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 1800 });
    expect(job.spec?.template.spec?.restartPolicy).toBe('Never');
  });

  it('keeps what the spec sets, takes timeoutSeconds as the deadline, and never mutates the config', () => {
    const own = jobConfigSchema.parse({
      spec: {
        backoffLimit: 2,
        template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'a', image: 'a:1' }] } },
      },
      timeoutSeconds: 300,
    });
    const before = structuredClone(own);
    const job = buildJob(own, ctx);
    expect(job.spec).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 300 });
    expect(job.spec?.template.spec?.restartPolicy).toBe('OnFailure');
    expect(own).toEqual(before);
  });
});

describe('jobOutcome', () => {
  const job = (conditions: { type: string; status: string; reason?: string; message?: string }[]): V1Job => ({
    metadata: { name: 'sy-x' },
    status: { conditions: conditions as never, active: 1 },
  });

  it('is running until a terminal condition is True', () => {
    expect(jobOutcome(job([]))).toMatchObject({ kind: 'running', state: { job: 'sy-x' } });
    expect(jobOutcome(job([{ type: 'Complete', status: 'False' }]))).toMatchObject({ kind: 'running' });
    expect(jobOutcome(job([{ type: 'SuccessCriteriaMet', status: 'True' }]))).toMatchObject({
      kind: 'running',
    });
  });

  it('is Successful on Complete and Failed, with the reason, on Failed', () => {
    expect(jobOutcome(job([{ type: 'Complete', status: 'True' }]))).toMatchObject({
      kind: 'verdict',
      phase: 'Successful',
    });
    expect(
      jobOutcome(
        job([
          {
            type: 'Failed',
            status: 'True',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the limit',
          },
        ]),
      ),
    ).toEqual({
      kind: 'verdict',
      phase: 'Failed',
      message: 'Job sy-x failed (BackoffLimitExceeded: Job has reached the limit)',
    });
  });
});
