import { describe, expect, it } from 'vitest';
import { celSyntaxError, evaluateCondition } from './cel.ts';
import type { ProviderResult } from './provider.ts';
import { advanceRun, judge, type MetricSpec, nextDue, startRun } from './run.ts';

const metric = (over: Partial<MetricSpec> = {}): MetricSpec => ({
  name: 'error-rate',
  template: 't',
  intervalSeconds: 10,
  count: 3,
  initialDelaySeconds: 0,
  successCondition: 'result[0] < 0.05',
  failureLimit: 0,
  inconclusiveLimit: 0,
  consecutiveErrorLimit: 4,
  dryRun: false,
  noDataPhase: 'Inconclusive',
  provider: { kind: 'prometheus', config: {} },
  ...over,
});
const value = (v: unknown): ProviderResult => ({ kind: 'value', value: v, noData: false });
const noData: ProviderResult = { kind: 'value', value: [], noData: true };
const error: ProviderResult = { kind: 'error', message: 'connection refused' };

/** Feeds one step of answers at a time, 10 s apart: by metric name, or a bare answer for the only metric. */
function feed(specs: MetricSpec[], answers: (Record<string, ProviderResult> | ProviderResult)[]) {
  let run = startRun('pre', specs, 0);
  let now = 0;
  for (const a of answers) {
    const byName =
      'kind' in a && typeof a.kind === 'string'
        ? { [specs[0]!.name]: a as ProviderResult }
        : (a as Record<string, ProviderResult>);
    run = advanceRun(run, byName, now);
    now += 10_000;
  }
  return run;
}

describe('analysis assessment', () => {
  it('passes after `count` successful measurements, and schedules them `interval` apart', () => {
    let run = startRun('pre', [metric()], 0);
    expect(nextDue(run)).toBe(0);
    run = advanceRun(run, { 'error-rate': value([0.01]) }, 0);
    expect(run.phase).toBe('Running');
    expect(nextDue(run)).toBe(10_000);
    run = advanceRun(run, { 'error-rate': value([0.02]) }, 10_000);
    run = advanceRun(run, { 'error-rate': value([0.03]) }, 20_000);
    expect(run.phase).toBe('Successful');
    expect(run.metrics[0]!.measurements.map((m) => m.phase)).toEqual([
      'Successful',
      'Successful',
      'Successful',
    ]);
    expect(nextDue(run)).toBeNull();
  });

  it('failureLimit 2 tolerates exactly two failed measurements', () => {
    const spec = metric({ count: 5, failureLimit: 2 });
    const two = feed([spec], [value([0.9]), value([0.01]), value([0.9]), value([0.01]), value([0.01])]);
    expect(two.phase).toBe('Successful');
    const three = feed([spec], [value([0.9]), value([0.9]), value([0.9])]);
    expect(three.phase).toBe('Failed');
    expect(three.message).toMatch(
      /metric error-rate is Failed \(successCondition result\[0\] < 0.05 is false\)/,
    );
  });

  it('no data is inconclusive unless the template says otherwise; inconclusiveLimit counts it', () => {
    expect(feed([metric()], [noData]).phase).toBe('Inconclusive');
    expect(feed([metric({ inconclusiveLimit: 1, count: 2 })], [noData, value([0.01])]).phase).toBe(
      'Successful',
    );
    expect(feed([metric({ noDataPhase: 'Failed' })], [noData]).phase).toBe('Failed');
  });

  it('errors fail the metric only after more than consecutiveErrorLimit in a row', () => {
    const spec = metric({ count: 2, consecutiveErrorLimit: 2 });
    expect(feed([spec], [error, error, value([0.01]), error, error, value([0.01])]).phase).toBe('Successful');
    const run = feed([spec], [error, error, error]);
    expect(run.phase).toBe('Failed');
    expect(run.metrics[0]!.phase).toBe('Error');
    expect(run.metrics[0]!.consecutiveErrors).toBe(3);
  });

  it('the worst phase wins, and a decided run stops its other metrics', () => {
    const run = feed(
      [metric({ name: 'a', count: 3 }), metric({ name: 'b', count: 1 })],
      [{ a: value([0.01]), b: value([0.5]) }],
    );
    expect(run.phase).toBe('Failed');
    expect(run.message).toMatch(/metric b is Failed/);
    expect(run.metrics.find((m) => m.spec.name === 'a')!.nextAt).toBeNull();
    const inconclusiveVsFailed = feed(
      [metric({ name: 'a', count: 1 }), metric({ name: 'b', count: 1 })],
      [{ a: noData, b: value([0.9]) }],
    );
    expect(inconclusiveVsFailed.phase).toBe('Failed');
  });

  it('dry-run metrics are measured and recorded but never fail a release', () => {
    const run = feed(
      [metric({ name: 'real', count: 1 }), metric({ name: 'shadow', count: 1, dryRun: true })],
      [{ real: value([0.01]), shadow: value([0.99]) }],
    );
    expect(run.phase).toBe('Successful');
    expect(run.metrics.find((m) => m.spec.name === 'shadow')!.phase).toBe('Failed');
  });

  it('with both conditions, a value satisfying neither is inconclusive; a job verdict is taken as is', () => {
    const both = metric({ successCondition: 'result < 0.05', failureCondition: 'result > 0.2' });
    expect(judge(both, value(0.1)).phase).toBe('Inconclusive');
    expect(judge(both, value(0.3)).phase).toBe('Failed');
    expect(judge(both, value(0.01)).phase).toBe('Successful');
    expect(judge(metric(), { kind: 'verdict', phase: 'Failed', message: 'Job failed' })).toEqual({
      phase: 'Failed',
      message: 'Job failed',
    });
  });

  it('a running measurement (a Job) is resumed in place, not counted twice', () => {
    const spec = metric({ count: 1, successCondition: undefined, failureCondition: undefined });
    let run = startRun('pre', [spec], 0);
    run = advanceRun(run, { 'error-rate': { kind: 'running', state: { job: 'sy-1' } } }, 0);
    expect(run.metrics[0]!.measurements).toEqual([
      expect.objectContaining({ index: 0, phase: 'Running', state: { job: 'sy-1' } }),
    ]);
    run = advanceRun(run, { 'error-rate': { kind: 'verdict', phase: 'Successful' } }, 1000);
    expect(run.metrics[0]!.measurements).toHaveLength(1);
    expect(run.phase).toBe('Successful');
  });
});

describe('CEL conditions', () => {
  it('evaluates over result: lists, numbers, JSON objects', () => {
    expect(evaluateCondition('result[0] < 0.05', [0.01])).toBe(true);
    expect(evaluateCondition('result.errors / result.requests < 0.05', { errors: 3, requests: 100 })).toBe(
      true,
    );
    expect(evaluateCondition('size(result) == 0', [])).toBe(true);
    expect(evaluateCondition('result.missing > 1', { errors: 1 })).toMatchObject({
      error: expect.stringContaining('result.missing'),
    });
    expect(evaluateCondition('result[0]', [1])).toMatchObject({
      error: expect.stringContaining('not a bool'),
    });
  });

  it('reports syntax errors with their column', () => {
    expect(celSyntaxError('result[0] < 0.05')).toBeNull();
    expect(celSyntaxError('result[0] < ')).toMatchObject({ line: 1, column: 11 });
  });
});

describe('what a run stores', () => {
  it('cuts large values short and keeps the newest measurements, so a release stays small', () => {
    const big = 'x'.repeat(50_000);
    const answers = Array.from({ length: 300 }, () => value([0.01, big]));
    const run = feed([metric({ count: 1000 })], answers);
    const m = run.metrics[0]!;
    expect(m.measurements).toHaveLength(100);
    expect(m.successful).toBe(300);
    expect(m.measurements.at(-1)!.index).toBe(299);
    expect(m.measurements[0]!.value).toMatchObject({
      bytes: expect.any(Number),
      truncated: expect.any(String),
    });
    expect(JSON.stringify(run).length).toBeLessThan(100_000);
  });
});
