// Analysis wired into blue-green releases, end to end: Prometheus with backfilled series, a web
// endpoint, a Job; pre-promotion analysis decides the switch, post-promotion analysis can send
// traffic back to blue while it is warm.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfill, type PrometheusState, startPrometheus } from '../../infra/local/components/prometheus.ts';
import { stopProcessGroup } from '../../infra/local/process.ts';
import { LocalStack } from '../../infra/local/stack.ts';
import type { AnalysisRun } from '../../shared/analysis/run.ts';
import { TargetStore } from '../../shared/target/store.ts';
import { validateAnalysisTemplate } from '../../shared/target/validate.ts';
import { testFirestore } from '../support/clients.ts';
import { releaseHarness } from '../support/harness.ts';
import { stack, uniqueId } from '../support/stack.ts';

const { start } = releaseHarness();

const revisionLabel = 'switchyard.dev/revision';

/** Error-ratio series of a job, sampled every 15 s over the last 5 minutes (so "now" finds them). */
function errorSeries(job: string, errorsPerStep: number, requestsPerStep = 100): string {
  const now = Math.floor(Date.now() / 1000);
  const lines = ['# TYPE http_requests counter'];
  for (let i = 20; i >= 0; i--) {
    const t = now - 15 * i;
    const n = 20 - i;
    lines.push(`http_requests_total{job="${job}",code="500"} ${errorsPerStep * n} ${t}`);
    lines.push(`http_requests_total{job="${job}",code="200"} ${(requestsPerStep - errorsPerStep) * n} ${t}`);
  }
  return lines.join('\n');
}

const ratio = (job: string) =>
  `sum(rate(http_requests_total{job="${job}",code="500"}[1m])) / sum(rate(http_requests_total{job="${job}"}[1m]))`;

function template(name: string, provider: unknown, metric: Record<string, unknown> = {}) {
  return {
    name,
    metrics: [
      {
        name: 'error-rate',
        count: 2,
        interval: '1s',
        successCondition: 'result[0] < 0.05',
        provider,
        ...metric,
      },
    ],
  };
}

describe('pre-promotion analysis with Prometheus', () => {
  it('a passing error rate promotes; every measurement is stored with the release', async () => {
    const job = uniqueId('pass').replaceAll('-', '_');
    await new LocalStack({ stateDir: stack().stateDir }).backfillPrometheus(errorSeries(job, 1));
    const f = await start('an-pass', {
      analysis: {
        templates: [
          template('errors', { prometheus: { address: stack().prometheusUrl, query: ratio(job) } }),
        ],
      },
      blueGreen: { prePromotionAnalysis: { templates: [{ templateName: 'errors' }] } },
    });
    await f.push(2);
    const done = await f.waitRelease(`${f.name}-1`);
    expect(done.phase).toBe('Succeeded');
    const run = done.analysis.pre as AnalysisRun;
    expect(run.phase).toBe('Successful');
    const m = run.metrics[0]!.measurements;
    expect(m).toHaveLength(2);
    expect(m[0]!.phase).toBe('Successful');
    expect((m[0]!.value as number[])[0]).toBeCloseTo(0.01, 6);
    expect(m[1]!.startedAt - m[0]!.startedAt).toBeGreaterThanOrEqual(1000);
    expect((await f.selector('api'))[revisionLabel]).toBe(done.candidate!.revision);
  });

  it('a failing error rate rolls back: no switch, green removed', async () => {
    const job = uniqueId('fail').replaceAll('-', '_');
    await new LocalStack({ stateDir: stack().stateDir }).backfillPrometheus(errorSeries(job, 20));
    const f = await start('an-fail', {
      analysis: {
        templates: [
          template('errors', { prometheus: { address: stack().prometheusUrl, query: ratio(job) } }),
        ],
      },
      blueGreen: { prePromotionAnalysis: { templates: [{ templateName: 'errors' }] } },
    });
    await f.push(2);
    const done = await f.waitRelease(`${f.name}-1`);
    expect(done.phase).toBe('RolledBack');
    expect(done.reason).toMatch(/pre-promotion analysis failed: metric error-rate is Failed/);
    expect((done.analysis.pre!.metrics[0]!.measurements[0]!.value as number[])[0]).toBeCloseTo(0.2, 6);
    expect((await f.selector('api'))[revisionLabel]).toBe(done.stable!.revision);
    expect(await f.deployment(done.candidate!.deployment)).toBeNull();
  });

  it('an empty result and NaN are inconclusive: the release pauses for a human, who promotes it', async () => {
    const job = uniqueId('nan').replaceAll('-', '_');
    await new LocalStack({ stateDir: stack().stateDir }).backfillPrometheus(errorSeries(job, 0, 0));
    const f = await start('an-nodata', {
      analysis: {
        templates: [
          template(
            'empty',
            { prometheus: { address: stack().prometheusUrl, query: `up{job="${job}-absent"}` } },
            { count: 1 },
          ),
          template(
            'nan',
            { prometheus: { address: stack().prometheusUrl, query: ratio(job) } },
            { name: 'nan-rate', count: 1 },
          ),
        ],
      },
      blueGreen: {
        prePromotionAnalysis: { templates: [{ templateName: 'empty' }, { templateName: 'nan' }] },
      },
    });
    await f.push(2);
    const paused = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    expect(paused.reason).toMatch(/pre-promotion analysis inconclusive/);
    const metrics = paused.analysis.pre!.metrics;
    expect(metrics.map((m) => m.measurements[0]?.phase)).toEqual(['Inconclusive', 'Inconclusive']);
    expect((await f.selector('api'))[revisionLabel]).toBe(paused.stable!.revision);
    await f.control('promote');
    expect((await f.waitRelease(paused.id)).phase).toBe('Succeeded');
  });
});

describe('analysis limits and errors', () => {
  let server: Server;
  let answers: number[] = [];
  let served = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      const v = answers[Math.min(served, answers.length - 1)] ?? 0;
      served += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ errorRate: v }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats`;

  it('failureLimit 2 tolerates exactly two failed measurements', async () => {
    answers = [0.9, 0.01, 0.9, 0.01, 0.01];
    served = 0;
    const web = { web: { url: url(), jsonPath: '$.errorRate' } };
    const f = await start('an-limit', {
      analysis: {
        templates: [
          template('web', web, { count: 5, interval: 0, failureLimit: 2, successCondition: 'result < 0.05' }),
        ],
      },
      blueGreen: { prePromotionAnalysis: { templates: [{ templateName: 'web' }] } },
    });
    await f.push(2);
    const done = await f.waitRelease(`${f.name}-1`);
    expect(done.phase).toBe('Succeeded');
    expect(done.analysis.pre!.metrics[0]!.measurements.map((m) => m.phase)).toEqual([
      'Failed',
      'Successful',
      'Failed',
      'Successful',
      'Successful',
    ]);

    answers = [0.9, 0.9, 0.9, 0.01];
    served = 0;
    await f.push(3);
    const third = await f.waitRelease(`${f.name}-2`);
    expect(third.phase).toBe('RolledBack');
    expect(third.analysis.pre!.metrics[0]!.failed).toBe(3);
  });

  it('a named template applied apart from the target is found by name', async () => {
    answers = [0.01];
    served = 0;
    const name = uniqueId('named-errors');
    const parsed = validateAnalysisTemplate({
      apiVersion: 'switchyard.dev/v1alpha1',
      kind: 'AnalysisTemplate',
      metadata: { name },
      spec: {
        metrics: [
          {
            name: 'error-rate',
            successCondition: 'result < 0.05',
            provider: { web: { url: url(), jsonPath: '$.errorRate' } },
          },
        ],
      },
    });
    if ('errors' in parsed) throw new Error(JSON.stringify(parsed.errors));
    const db = testFirestore(stack().projectId);
    await new TargetStore(db).apply([], 'test', [parsed.template]);
    await db.terminate();
    const f = await start('an-named', {
      blueGreen: { prePromotionAnalysis: { templates: [{ templateName: name }] } },
    });
    await f.push(2);
    const done = await f.waitRelease(`${f.name}-1`);
    expect(done.phase).toBe('Succeeded');
    expect(done.analysis.pre!.metrics[0]!.spec.template).toBe(name);
    expect(done.analysis.pre!.metrics[0]!.measurements[0]!.value).toBe(0.01);
  });

  it('Prometheus stopped mid-analysis: errors counted, consecutiveErrorLimit reached, blue keeps traffic', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-prom-'));
    const job = uniqueId('gone').replaceAll('-', '_');
    let prom: PrometheusState = await startPrometheus(dir);
    try {
      prom = await backfill(prom, errorSeries(job, 1));
      const f = await start('an-down', {
        analysis: {
          templates: [
            template(
              'errors',
              { prometheus: { address: `http://${prom.host}`, query: ratio(job), timeoutSeconds: 2 } },
              { count: 20, interval: '1s', consecutiveErrorLimit: 2 },
            ),
          ],
        },
        blueGreen: { prePromotionAnalysis: { templates: [{ templateName: 'errors' }] } },
      });
      await f.push(2);
      await f.waitRelease(`${f.name}-1`, (r) => (r.analysis.pre?.metrics[0]?.successful ?? 0) >= 1);
      await stopProcessGroup(prom.pid);
      const done = await f.waitRelease(`${f.name}-1`);
      expect(done.phase).toBe('RolledBack');
      const metric = done.analysis.pre!.metrics[0]!;
      expect(metric.phase).toBe('Error');
      expect(metric.consecutiveErrors).toBe(3);
      expect(metric.measurements.filter((m) => m.phase === 'Error')).toHaveLength(3);
      expect((await f.selector('api'))[revisionLabel]).toBe(done.stable!.revision);
    } finally {
      await stopProcessGroup(prom.pid);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pre- and post-promotion analysis', () => {
  it('a release with pre (a Job) and post (Prometheus) analysis passes', async () => {
    const job = uniqueId('both').replaceAll('-', '_');
    await new LocalStack({ stateDir: stack().stateDir }).backfillPrometheus(errorSeries(job, 1));
    const testJob = {
      job: {
        spec: {
          template: {
            metadata: { labels: { 'switchyard.dev/stage': 'job-succeed' } },
            spec: {
              restartPolicy: 'Never',
              containers: [
                {
                  name: 'tests',
                  image: 'registry.example/newman:6',
                  args: ['run', 'http://{{release.previewService}}'],
                },
              ],
            },
          },
        },
      },
    };
    const f = await start('an-both', {
      preview: true,
      analysis: {
        templates: [
          { name: 'integration', metrics: [{ name: 'tests', provider: testJob }] },
          template('errors', { prometheus: { address: stack().prometheusUrl, query: ratio(job) } }),
        ],
      },
      blueGreen: {
        prePromotionAnalysis: { templates: [{ templateName: 'integration' }] },
        postPromotionAnalysis: { templates: [{ templateName: 'errors' }] },
      },
    });
    await f.push(2);
    const done = await f.waitRelease(`${f.name}-1`);
    expect(done.phase).toBe('Succeeded');
    expect(done.analysis.pre!.metrics[0]!.measurements.at(-1)?.phase).toBe('Successful');
    expect(done.analysis.post!.phase).toBe('Successful');
    expect(done.history.map((h) => h.to)).toEqual(
      expect.arrayContaining(['PostPromotionAnalysis', 'ScalingDown']),
    );
    const jobs = await f.kube.batch.listNamespacedJob({ namespace: f.namespace });
    expect(jobs.items).toHaveLength(0);
  });

  it('failing post-promotion analysis sends traffic back to blue while it is warm', async () => {
    const job = uniqueId('post').replaceAll('-', '_');
    await new LocalStack({ stateDir: stack().stateDir }).backfillPrometheus(errorSeries(job, 30));
    const f = await start('an-post', {
      analysis: {
        templates: [
          template('errors', { prometheus: { address: stack().prometheusUrl, query: ratio(job) } }),
        ],
      },
      blueGreen: {
        scaleDownDelaySeconds: 1,
        postPromotionAnalysis: { templates: [{ templateName: 'errors' }] },
      },
    });
    await f.push(2);
    const done = await f.waitRelease(`${f.name}-1`);
    expect(done.phase).toBe('RolledBack');
    expect(done.reason).toMatch(/post-promotion analysis failed/);
    expect(done.switchedAt).not.toBeNull();
    expect((await f.selector('api'))[revisionLabel]).toBe(done.stable!.revision);
    expect((await f.deployment(done.stable!.deployment))?.spec?.replicas).toBe(3);
    const commands = done.history.flatMap((h) => h.commands ?? []);
    expect(commands.filter((c) => c.startsWith(`ScaleRevision ${done.stable!.deployment}`))).toEqual([]);
  });
});
