// Analysis runs and their pure assessment, with Argo Rollouts' semantics: each metric is measured
// `count` times every `interval` after `initialDelay`; a measurement is Successful, Failed,
// Inconclusive (also "no data") or Error; a metric fails once failed > failureLimit, is
// inconclusive once inconclusive > inconclusiveLimit, errs once consecutive errors >
// consecutiveErrorLimit; the run takes the worst phase of its metrics, dry-run metrics excepted.
import { evaluateCondition } from './cel.ts';
import type { ProviderResult } from './provider.ts';

export type MeasurementPhase = 'Successful' | 'Failed' | 'Inconclusive' | 'Error' | 'Running';
export type MetricPhase = 'Running' | 'Successful' | 'Failed' | 'Inconclusive' | 'Error';
export type RunPhase = 'Running' | 'Successful' | 'Failed' | 'Inconclusive';

/** A metric as it runs: its template, arguments substituted, frozen when the run starts. */
export interface MetricSpec {
  name: string;
  template: string;
  intervalSeconds: number;
  count: number;
  initialDelaySeconds: number;
  successCondition?: string;
  failureCondition?: string;
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
  dryRun: boolean;
  /** How "no data" counts (default Inconclusive). */
  noDataPhase: 'Inconclusive' | 'Failed' | 'Successful';
  provider: { kind: string; config: unknown };
  /**
   * Measured until one measurement is Successful, however many fail in between (a drain's metric:
   * the old revision's traffic is below the threshold once); count and the limits do not apply.
   */
  untilSuccessful?: boolean;
}

export interface Measurement {
  index: number;
  phase: MeasurementPhase;
  /** The value the conditions saw (`result`). */
  value?: unknown;
  message?: string;
  startedAt: number;
  finishedAt?: number;
  /** Provider state of a Running measurement (e.g. the Job's name). */
  state?: Record<string, string>;
}

export interface MetricRun {
  spec: MetricSpec;
  phase: MetricPhase;
  measurements: Measurement[];
  successful: number;
  failed: number;
  inconclusive: number;
  errors: number;
  consecutiveErrors: number;
  /** When the next measurement (or the next look at a running one) is due; null when done. */
  nextAt: number | null;
}

/** pre/post promotion (blue-green), background or a step's analysis (canary), the old revision's drain. */
export type RunKind = 'pre' | 'post' | 'background' | 'step' | 'drain';

export interface AnalysisRun {
  kind: RunKind;
  phase: RunPhase;
  startedAt: number;
  finishedAt: number | null;
  metrics: MetricRun[];
  /** Why the run ended as it did (the deciding metric and measurement). */
  message: string | null;
}

/** How soon a running measurement (a Job) is looked at again. */
export const resumePollMs = 1000;

export function startRun(kind: RunKind, specs: MetricSpec[], now: number): AnalysisRun {
  return {
    kind,
    phase: 'Running',
    startedAt: now,
    finishedAt: null,
    message: null,
    metrics: specs.map((spec) => ({
      spec,
      phase: 'Running',
      measurements: [],
      successful: 0,
      failed: 0,
      inconclusive: 0,
      errors: 0,
      consecutiveErrors: 0,
      nextAt: now + spec.initialDelaySeconds * 1000,
    })),
  };
}

/** Metrics of a run whose measurement is due at `now`. */
export function dueMetrics(run: AnalysisRun, now: number): MetricRun[] {
  return run.metrics.filter((m) => m.phase === 'Running' && m.nextAt !== null && m.nextAt <= now);
}

/** The earliest time a metric of the run needs attention, or null. */
export function nextDue(run: AnalysisRun): number | null {
  const times = run.metrics.map((m) => m.nextAt).filter((t): t is number => t !== null);
  return times.length ? Math.min(...times) : null;
}

/** What a provider's answer means for the metric: the phase of the measurement. */
export function judge(
  spec: MetricSpec,
  result: ProviderResult,
): { phase: MeasurementPhase; message?: string } {
  switch (result.kind) {
    case 'running':
      return { phase: 'Running', ...(result.message ? { message: result.message } : {}) };
    case 'error':
      return { phase: 'Error', message: result.message };
    case 'verdict':
      return { phase: result.phase, ...(result.message ? { message: result.message } : {}) };
    case 'value': {
      if (result.noData) return { phase: spec.noDataPhase, message: result.message ?? 'no data' };
      const failure = spec.failureCondition ? evaluateCondition(spec.failureCondition, result.value) : false;
      if (typeof failure === 'object') return { phase: 'Error', message: failure.error };
      if (failure) return { phase: 'Failed', message: `failureCondition ${spec.failureCondition} is true` };
      if (!spec.successCondition) {
        return spec.failureCondition
          ? { phase: 'Successful' }
          : { phase: 'Error', message: 'the metric has neither successCondition nor failureCondition' };
      }
      const success = evaluateCondition(spec.successCondition, result.value);
      if (typeof success === 'object') return { phase: 'Error', message: success.error };
      if (success) return { phase: 'Successful' };
      return spec.failureCondition
        ? { phase: 'Inconclusive', message: 'neither condition is true' }
        : { phase: 'Failed', message: `successCondition ${spec.successCondition} is false` };
    }
  }
}

/** Measured values larger than this (as JSON) are stored cut short, so a release stays far below 1 MiB. */
export const maxValueBytes = 2048;
/** Measurements kept per metric (the newest; the counters keep the whole run's tally). */
export const maxMeasurements = 100;

/** A value as stored: itself, or when too large, the start of its JSON and its size. */
export function storedValue(value: unknown): unknown {
  const json = JSON.stringify(value) ?? 'null';
  if (json.length <= maxValueBytes) return value;
  return { truncated: json.slice(0, 256), bytes: json.length };
}

/** Records a provider's answer for a due metric and works out the metric's phase and next time. */
export function record(metric: MetricRun, result: ProviderResult, now: number): MetricRun {
  const { phase, message } = judge(metric.spec, result);
  const last = metric.measurements.at(-1);
  const resuming = last?.phase === 'Running';
  const index = resuming ? last.index : last ? last.index + 1 : 0;
  const measurement: Measurement = {
    index,
    phase,
    startedAt: resuming ? last.startedAt : now,
    ...(phase === 'Running' ? {} : { finishedAt: now }),
    ...(result.kind === 'value' && !result.noData ? { value: storedValue(result.value) } : {}),
    ...(message ? { message: message.slice(0, 1000) } : {}),
    ...(result.kind === 'running' ? { state: result.state } : {}),
  };
  const measurements = (
    resuming ? [...metric.measurements.slice(0, -1), measurement] : [...metric.measurements, measurement]
  ).slice(-maxMeasurements);
  const next: MetricRun = { ...metric, measurements };
  if (phase === 'Running') return { ...next, nextAt: now + resumePollMs };
  if (phase === 'Successful') next.successful += 1;
  if (phase === 'Failed') next.failed += 1;
  if (phase === 'Inconclusive') next.inconclusive += 1;
  if (phase === 'Error') next.errors += 1;
  next.consecutiveErrors = phase === 'Error' ? metric.consecutiveErrors + 1 : 0;
  next.phase = metricPhase(next);
  next.nextAt = next.phase === 'Running' ? now + next.spec.intervalSeconds * 1000 : null;
  return next;
}

/** A metric's phase from its counters and limits. */
export function metricPhase(m: MetricRun): MetricPhase {
  const s = m.spec;
  if (s.untilSuccessful) return m.successful > 0 ? 'Successful' : 'Running';
  if (m.consecutiveErrors > s.consecutiveErrorLimit) return 'Error';
  if (m.failed > s.failureLimit) return 'Failed';
  if (m.inconclusive > s.inconclusiveLimit) return 'Inconclusive';
  const finished = m.successful + m.failed + m.inconclusive;
  return finished >= s.count ? 'Successful' : 'Running';
}

/**
 * The run's phase: the worst phase of its metrics (Failed and Error fail it; then Inconclusive; then
 * Running), ignoring dry-run metrics, which are measured and recorded but never decide anything.
 */
export function runPhase(run: AnalysisRun): { phase: RunPhase; message: string | null } {
  const deciding = run.metrics.filter((m) => !m.spec.dryRun);
  const describe = (m: MetricRun) => {
    const last = m.measurements.findLast((x) => x.phase !== 'Running');
    return `metric ${m.spec.name} is ${m.phase}${last?.message ? ` (${last.message})` : ''}`;
  };
  const failed = deciding.find((m) => m.phase === 'Failed' || m.phase === 'Error');
  if (failed) return { phase: 'Failed', message: describe(failed) };
  const inconclusive = deciding.find((m) => m.phase === 'Inconclusive');
  if (inconclusive) return { phase: 'Inconclusive', message: describe(inconclusive) };
  if (run.metrics.some((m) => m.phase === 'Running')) return { phase: 'Running', message: null };
  return { phase: 'Successful', message: null };
}

/** Applies the answers of the due metrics (by metric name) and re-assesses the run. */
export function advanceRun(
  run: AnalysisRun,
  results: Record<string, ProviderResult>,
  now: number,
): AnalysisRun {
  const metrics = run.metrics.map((m) => {
    const r = results[m.spec.name];
    return r && m.phase === 'Running' ? record(m, r, now) : m;
  });
  // Once the run has decided, metrics still running stop: nothing they say can change it.
  const next = { ...run, metrics };
  const { phase, message } = runPhase(next);
  if (phase === 'Running') return next;
  return {
    ...next,
    phase,
    message,
    finishedAt: now,
    metrics: metrics.map((m) => (m.phase === 'Running' ? { ...m, nextAt: null } : m)),
  };
}
