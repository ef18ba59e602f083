// The prometheus provider against a real Prometheus (the stack's, from Debian) holding exactly the
// series this file backfills at fixed times, measured with ctx.now() at those times.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus } from '../../infra/local/components/prometheus.ts';
import { freePort, stopProcessGroup, withLock } from '../../infra/local/process.ts';
import { LocalStack } from '../../infra/local/stack.ts';
import type { MeasureContext, MetricProvider, ProviderResult } from '../../shared/analysis/provider.ts';
import {
  type PrometheusConfig,
  prometheusConfigSchema,
  prometheusProvider,
} from '../../shared/analysis/providers/prometheus/index.ts';
import { parseEgressAllow } from '../../shared/egress/policy.ts';
import { stack, uniqueId } from '../support/stack.ts';
import { providerContract } from './contract.ts';

// Samples every 15 s for 10 minutes from t0; measurements are taken at `at`, the last sample.
const t0 = Date.UTC(2024, 1, 1) / 1000;
const step = 15;
const samples = 41;
const at = t0 + step * (samples - 1);
// Linear counters: 4 req/s answered 200 and 0.2 req/s answered 500, so rate() is exact and the
// error ratio is 0.2 / 4.2 = 1/21. The idle job's counters never move: its ratio is 0/0 = NaN.
const job = uniqueId('prov').replaceAll('-', '_');
const idle = `${job}_idle`;

function openMetrics(): string {
  const lines = ['# TYPE http_requests counter'];
  for (let i = 0; i < samples; i++) {
    const t = t0 + step * i;
    lines.push(`http_requests_total{job="${job}",code="200"} ${60 * i} ${t}`);
    lines.push(`http_requests_total{job="${job}",code="500"} ${3 * i} ${t}`);
    lines.push(`http_requests_total{job="${idle}",code="200"} 50 ${t}`);
    lines.push(`http_requests_total{job="${idle}",code="500"} 0 ${t}`);
  }
  return lines.join('\n');
}

const errorRatio = (j: string) =>
  `sum(rate(http_requests_total{job="${j}",code="500"}[1m])) / sum(rate(http_requests_total{job="${j}"}[1m]))`;

function ctx(nowSeconds = at): MeasureContext {
  return {
    namespace: 'shop',
    releaseId: 'r1',
    metric: 'error-ratio',
    index: 0,
    run: 'pre',
    kubeConfig: new KubeConfig(),
    googleToken: async () => 'unused',
    now: () => nowSeconds * 1000,
  };
}

function config(query: string, over: Record<string, unknown> = {}): PrometheusConfig {
  return prometheusConfigSchema.parse({ address: stack().prometheusUrl, query, ...over });
}

/**
 * The provider, but measuring under the stack's lock: another test file's backfill
 * restarts the shared server, and a query landing in that gap would fail for reasons not ours.
 */
function locked(provider: MetricProvider<PrometheusConfig>): MetricProvider<PrometheusConfig> {
  return {
    measure: (config, c) =>
      config.address === stack().prometheusUrl
        ? withLock(join(stack().stateDir, 'stack.lock'), () => provider.measure(config, c))
        : provider.measure(config, c),
  };
}

// The stack's Prometheus listens on loopback, which the local installation allows.
const provider = locked(prometheusProvider({ egress: () => parseEgressAllow('127.0.0.0/8') }));
const measure = (
  query: string,
  over: Record<string, unknown> = {},
  nowSeconds = at,
): Promise<ProviderResult> => provider.measure(config(query, over), ctx(nowSeconds));

beforeAll(async () => {
  await new LocalStack({ stateDir: stack().stateDir }).backfillPrometheus(openMetrics());
});

providerContract<PrometheusConfig>({
  name: 'prometheus',
  provider,
  working: async () => ({ config: config(errorRatio(job)), ctx: ctx() }),
  unreachable: async () => ({
    config: prometheusConfigSchema.parse({ address: `http://127.0.0.1:${await freePort()}`, query: 'up' }),
    ctx: ctx(),
  }),
});

describe('prometheus provider on a real Prometheus', () => {
  it('measures the exact error ratio of the backfilled series at ctx.now()', async () => {
    const result = await measure(errorRatio(job));
    expect(result).toMatchObject({ kind: 'value', noData: false });
    const value = (result as { value: number[] }).value;
    expect(value).toHaveLength(1);
    expect(value[0]).toBeCloseTo(1 / 21, 10);
  });

  it('gives one number per series in the order Prometheus returns them', async () => {
    const result = await measure(`sort_desc(sum by (code) (rate(http_requests_total{job="${job}"}[1m])))`);
    const value = (result as { value: number[] }).value;
    expect(value).toHaveLength(2);
    expect(value[0]).toBeCloseTo(4, 10);
    expect(value[1]).toBeCloseTo(0.2, 10);
  });

  it('gives a scalar as a number', async () => {
    const result = await measure(`scalar(sum(rate(http_requests_total{job="${job}"}[1m])))`);
    expect(result).toMatchObject({ kind: 'value', noData: false });
    expect((result as { value: number }).value).toBeCloseTo(4.2, 10);
  });

  it('reports an empty result as no data: before the series began', async () => {
    const result = await measure(errorRatio(job), {}, t0 - 3600);
    expect(result).toMatchObject({ kind: 'value', value: [], noData: true });
  });

  it('reports a NaN result (no traffic: 0/0) as no data, JSON-safe', async () => {
    const result = await measure(errorRatio(idle));
    expect(result).toMatchObject({ kind: 'value', value: [], noData: true });
    expect((result as { message: string }).message).toContain('NaN');
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('runs a range query over the window ending at ctx.now(): one array of points per series', async () => {
    const result = await measure(`sum(rate(http_requests_total{job="${job}",code="500"}[1m]))`, {
      range: { seconds: 120, stepSeconds: 30 },
    });
    expect(result).toMatchObject({ kind: 'value', noData: false });
    const value = (result as { value: number[][] }).value;
    // at-120, at-90, …, at: five steps, all at 0.2 req/s.
    expect(value).toHaveLength(1);
    expect(value[0]).toHaveLength(5);
    for (const v of value[0]!) expect(v).toBeCloseTo(0.2, 10);
  });

  it('turns a bad query into an error carrying Prometheus reason', async () => {
    const result = await measure('sum(rate(http_requests_total[1m])');
    expect(result).toMatchObject({ kind: 'error', message: expect.stringContaining('HTTP 400') });
    expect((result as { message: string }).message).toContain('bad_data');
  });

  describe('a Prometheus that goes away', () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-prom-'));
    let pid: number | undefined;
    afterAll(async () => {
      await stopProcessGroup(pid);
      rmSync(dir, { recursive: true, force: true });
    });

    it('answers while running and is an error, naming the URL, once stopped', async () => {
      const own = await startPrometheus(dir);
      pid = own.pid;
      const cfg = prometheusConfigSchema.parse({ address: `http://${own.host}`, query: 'vector(1)' });
      expect(await provider.measure(cfg, ctx())).toEqual({ kind: 'value', value: [1], noData: false });

      await stopProcessGroup(own.pid);
      const result = await provider.measure(cfg, ctx());
      expect(result.kind).toBe('error');
      expect((result as { message: string }).message).toContain(`http://${own.host}/api/v1/query`);
      expect((result as { message: string }).message).toContain('ECONNREFUSED');
    });
  });
});
