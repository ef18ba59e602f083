// The `cloud-monitoring` metric provider: the time series of one metric type over a window ending
// now, read with projects.timeSeries.list (all pages) and reduced to numbers. It only measures;
// whether the numbers pass is for the assessment's conditions. Every fault comes back as `error`.
// The monitoring API alone: importing all of googleapis costs ~0.7 s of cold start.
import { monitoring, type monitoring_v3 } from 'googleapis/build/src/apis/monitoring/index.js';
import type { MeasureContext, MetricProvider, ProviderResult } from '../../provider.ts';
import type { CloudMonitoringConfig } from './schema.ts';

export { type CloudMonitoringConfig, cloudMonitoringConfigSchema } from './schema.ts';

export interface CloudMonitoringProviderOptions {
  /** Root URL of the Cloud Monitoring API (a local fake in tests). Default https://monitoring.googleapis.com/. */
  rootUrl?: string;
}

/** More pages than this means the filter reads far more than a measurement should. */
const maxPages = 50;

/**
 * A Cloud Monitoring metric provider. `measure` lists `projects/{project}/timeSeries` with the
 * filter, the interval [ctx.now() - windowSeconds, ctx.now()] and the aggregation, authenticated
 * with `ctx.googleToken()`, following `nextPageToken` to the end. Points' doubleValue, int64Value
 * (a string in JSON) and boolValue (1/0) count; NaN points are dropped (not JSON), ±Infinity becomes
 * ±Number.MAX_VALUE. `value`: with pick `last` (default) the newest point of each series, one number
 * per series in the order listed; with `sum`/`mean`/`max`/`min` one number over all points of all
 * series. No points at all → `noData` with value `[]`. An HTTP or network fault, a timeout (one
 * deadline for all pages), non-numeric points or runaway pagination → `kind: 'error'`. Never
 * throws; only reads, so measuring again is harmless.
 */
export function cloudMonitoringProvider(
  opts: CloudMonitoringProviderOptions = {},
): MetricProvider<CloudMonitoringConfig> {
  const api = monitoring({ version: 'v3', ...(opts.rootUrl ? { rootUrl: opts.rootUrl } : {}) });
  return {
    async measure(config, ctx) {
      try {
        return await measure(api, config, ctx);
      } catch (err) {
        // A bug or a malformed configuration must still come back as a measurement, not an exception.
        return { kind: 'error', message: `cloud-monitoring: ${describeError(err)}` };
      }
    },
  };
}

/** The request parameters for one page, as FACTS §8 lists them for timeSeries.list. */
export function listParams(
  config: CloudMonitoringConfig,
  nowMs: number,
  pageToken?: string,
): monitoring_v3.Params$Resource$Projects$Timeseries$List {
  const agg = config.aggregation;
  return {
    name: `projects/${config.project}`,
    filter: config.filter,
    'interval.startTime': new Date(nowMs - config.windowSeconds * 1000).toISOString(),
    'interval.endTime': new Date(nowMs).toISOString(),
    ...(agg
      ? {
          'aggregation.alignmentPeriod': `${agg.alignmentPeriodSeconds}s`,
          'aggregation.perSeriesAligner': agg.perSeriesAligner,
          ...(agg.crossSeriesReducer ? { 'aggregation.crossSeriesReducer': agg.crossSeriesReducer } : {}),
          ...(agg.groupByFields?.length ? { 'aggregation.groupByFields': agg.groupByFields } : {}),
        }
      : {}),
    ...(pageToken ? { pageToken } : {}),
  };
}

interface SeriesPoints {
  /** [end time in ms, value] per point, as listed. */
  points: [number, number][];
}

async function measure(
  api: monitoring_v3.Monitoring,
  config: CloudMonitoringConfig,
  ctx: MeasureContext,
): Promise<ProviderResult> {
  const where = `Cloud Monitoring projects/${config.project}/timeSeries`;
  const timeoutSeconds = config.timeoutSeconds ?? 10;
  let token: string;
  try {
    token = await ctx.googleToken();
  } catch (err) {
    return { kind: 'error', message: `${where}: no Google access token: ${describeError(err)}` };
  }

  const nowMs = ctx.now();
  // One deadline for the whole measurement, however many pages it takes.
  const signal = AbortSignal.timeout(timeoutSeconds * 1000);
  const series: SeriesPoints[] = [];
  const notes: string[] = [];
  let dropped = 0;
  let clamped = 0;
  let pageToken: string | undefined;
  for (let page = 0; ; page++) {
    if (page === maxPages) {
      return {
        kind: 'error',
        message: `${where}: more than ${maxPages} pages; narrow the filter or aggregate (aggregation.crossSeriesReducer)`,
      };
    }
    let data: monitoring_v3.Schema$ListTimeSeriesResponse;
    try {
      const res = await api.projects.timeSeries.list(listParams(config, nowMs, pageToken), {
        headers: { Authorization: `Bearer ${token}` },
        signal,
        // One measurement is one attempt: the analysis' interval and consecutiveErrorLimit decide
        // what a failure means, and retries would overrun the timeout the template set.
        retry: false,
      });
      data = res.data;
    } catch (err) {
      return { kind: 'error', message: requestError(where, err, signal, timeoutSeconds) };
    }
    for (const e of data.executionErrors ?? [])
      notes.push(`execution error: ${e.message ?? JSON.stringify(e)}`);
    if (data.unreachable?.length) notes.push(`unreachable: ${data.unreachable.join(', ')}`);
    for (const ts of data.timeSeries ?? []) {
      const points: [number, number][] = [];
      for (const p of ts.points ?? []) {
        const v = pointValue(p.value);
        if (v === undefined) {
          const type = ts.valueType ?? Object.keys(p.value ?? {}).join(',');
          return {
            kind: 'error',
            message: `${where}: points of type ${type} are not numbers; choose an aggregation.perSeriesAligner that yields numbers (e.g. ALIGN_PERCENTILE_99 for distributions)`,
          };
        }
        if (Number.isNaN(v)) {
          dropped += 1;
          continue;
        }
        if (!Number.isFinite(v)) clamped += 1;
        const clampedV = Number.isFinite(v) ? v : v > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE;
        points.push([Date.parse(p.interval?.endTime ?? '') || 0, clampedV]);
      }
      if (points.length > 0) series.push({ points });
    }
    pageToken = data.nextPageToken || undefined;
    if (!pageToken) break;
  }

  if (dropped > 0) notes.push(`${dropped} NaN point(s) dropped`);
  if (clamped > 0) notes.push(`${clamped} infinite point(s) given as ±Number.MAX_VALUE`);
  if (series.length === 0) {
    return { kind: 'value', value: [], noData: true, message: ['no data: no points', ...notes].join('; ') };
  }
  return {
    kind: 'value',
    value: pick(config.pick ?? 'last', series),
    noData: false,
    ...(notes.length > 0 ? { message: notes.join('; ') } : {}),
  };
}

function pick(how: CloudMonitoringConfig['pick'], series: SeriesPoints[]): number | number[] {
  if (how === 'last') {
    // The API lists points newest first; choosing by end time does not rely on that.
    return series.map((s) => s.points.reduce((a, b) => (b[0] > a[0] ? b : a))[1]);
  }
  const all = series.flatMap((s) => s.points.map((p) => p[1]));
  switch (how) {
    case 'sum':
      return all.reduce((a, b) => a + b, 0);
    case 'mean':
      return all.reduce((a, b) => a + b, 0) / all.length;
    case 'max':
      return Math.max(...all);
    case 'min':
      return Math.min(...all);
  }
}

/** A number for numeric points; NaN/±Infinity as such (JSON spells them as strings); undefined otherwise. */
function pointValue(v: monitoring_v3.Schema$TypedValue | undefined): number | undefined {
  if (!v) return undefined;
  if (v.doubleValue !== undefined && v.doubleValue !== null) return Number(v.doubleValue);
  if (v.int64Value !== undefined && v.int64Value !== null) return Number(v.int64Value);
  if (typeof v.boolValue === 'boolean') return v.boolValue ? 1 : 0;
  return undefined;
}

function requestError(where: string, err: unknown, signal: AbortSignal, timeoutSeconds: number): string {
  if (signal.aborted) return `${where} did not answer within ${timeoutSeconds} s`;
  const e = err as {
    status?: unknown;
    response?: { status?: unknown; statusText?: unknown; data?: unknown };
  };
  const status = e.response?.status ?? e.status;
  if (typeof status === 'number') {
    const data = e.response?.data as { error?: { message?: unknown; status?: unknown } } | string | undefined;
    const google = typeof data === 'object' ? data?.error : undefined;
    const reason =
      google && typeof google.message === 'string'
        ? `${typeof google.status === 'string' ? `${google.status}: ` : ''}${google.message}`
        : describeError(err);
    return `${where} answered HTTP ${status}: ${reason}`;
  }
  return `${where} could not be reached: ${describeError(err)}`;
}

/** An error's message with the network code fetch keeps in `cause` (ECONNREFUSED, ENOTFOUND, …). */
function describeError(err: unknown): string {
  const e = err as {
    message?: unknown;
    code?: unknown;
    cause?: { code?: unknown; message?: unknown };
  } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const code = typeof e?.cause?.code === 'string' ? e.cause.code : typeof e?.code === 'string' ? e.code : '';
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
