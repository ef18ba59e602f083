// The `prometheus` metric provider: one PromQL query (instant at now, or a range ending now) against
// the Prometheus HTTP API of a server or of Google Managed Prometheus. It only measures; whether the
// number passes is for the assessment's conditions. Every fault comes back as `kind: 'error'`.
import { z } from 'zod';
import {
  EgressRefusedError,
  egressFetch,
  type HopSender,
  installationPolicy,
} from '../../../egress/fetch.ts';
import type { EgressPolicy } from '../../../egress/policy.ts';
import type { MeasureContext, MetricProvider, ProviderResult } from '../../provider.ts';
import type { PrometheusConfig } from './schema.ts';

export type { PrometheusConfig } from './schema.ts';
export { prometheusConfigSchema } from './schema.ts';

export interface PrometheusProviderOptions {
  /**
   * Sends one request (tests inject one). Default: undici through the egress policy's checked
   * lookup. Whichever sends, every hop is checked against the policy and redirects are followed here.
   */
  fetch?: typeof globalThis.fetch;
  /** Which addresses an `address` may reach. Default: the installation's (SWITCHYARD_EGRESS_ALLOW). */
  egress?: () => EgressPolicy;
  /** Root of Google Managed Prometheus (a local fake in tests). Default https://monitoring.googleapis.com. */
  managedRoot?: string;
}

const defaultManagedRoot = 'https://monitoring.googleapis.com';

// Prometheus API answers (https://prometheus.io/docs/prometheus/latest/querying/api/). A sample is
// [unix seconds, "value"]; native histogram samples carry `histogram(s)` instead and are refused below.
const sample = z.tuple([z.number(), z.string()]);
const successBody = z.object({
  status: z.literal('success'),
  data: z.discriminatedUnion('resultType', [
    z.object({
      resultType: z.literal('vector'),
      result: z.array(z.object({ value: sample.optional(), histogram: z.unknown().optional() })),
    }),
    z.object({
      resultType: z.literal('matrix'),
      result: z.array(z.object({ values: z.array(sample).optional(), histograms: z.unknown().optional() })),
    }),
    z.object({ resultType: z.literal('scalar'), result: sample }),
    z.object({ resultType: z.literal('string'), result: sample }),
  ]),
  warnings: z.array(z.string()).optional(),
  infos: z.array(z.string()).optional(),
});
const errorBody = z.object({
  status: z.literal('error'),
  errorType: z.string().optional(),
  error: z.string().optional(),
});

/**
 * A Prometheus metric provider. `measure` sends one GET to `/api/v1/query` (at `ctx.now()`) or, with
 * `range`, to `/api/v1/query_range` (the `range.seconds` before `ctx.now()`, every `stepSeconds`), and
 * returns `kind: 'value'` with: a vector → numbers, one per series in the order Prometheus returned
 * them; a scalar → a number; a matrix → arrays of numbers, one array per series. NaN samples are
 * dropped (they are not JSON); when nothing is left, or the result was empty, `noData` is true and
 * the value `[]`. ±Inf becomes ±Number.MAX_VALUE so comparisons still hold. An HTTP or network
 * fault, a timeout, an `error` status or an unusable answer gives `kind: 'error'` naming the URL.
 * Never throws; sends nothing but the one request, so measuring again is harmless.
 */
export function prometheusProvider(opts: PrometheusProviderOptions = {}): MetricProvider<PrometheusConfig> {
  const managedRoot = opts.managedRoot ?? defaultManagedRoot;
  return {
    async measure(config, ctx) {
      try {
        return await measure(config, ctx, opts, managedRoot);
      } catch (err) {
        // A bug or a malformed configuration must still come back as a measurement, not an exception.
        return { kind: 'error', message: `prometheus: ${describeError(err)}` };
      }
    },
  };
}

async function measure(
  config: PrometheusConfig,
  ctx: MeasureContext,
  opts: PrometheusProviderOptions,
  managedRoot: string,
): Promise<ProviderResult> {
  const timeoutSeconds = config.timeoutSeconds ?? 10;
  const url = queryUrl(config, ctx.now(), managedRoot);
  const where = `Prometheus ${url.origin}${url.pathname}`;

  const headers: Record<string, string> = { accept: 'application/json' };
  for (const h of config.headers ?? []) headers[h.name.toLowerCase()] = h.value;
  let token: string | undefined;
  if (config.managed) {
    try {
      token = await ctx.googleToken();
    } catch (err) {
      return { kind: 'error', message: `${where}: no Google access token: ${describeError(err)}` };
    }
  }

  let response: { status: number; statusText: string };
  let text: string;
  try {
    // One deadline for connecting and reading the body: a server that stalls mid-body also times out.
    const signal = AbortSignal.timeout(timeoutSeconds * 1000);
    const send: HopSender | undefined = opts.fetch
      ? (r) =>
          opts.fetch!(r.url, { method: r.method, headers: r.headers, signal: r.signal!, redirect: 'manual' })
      : undefined;
    // A target's headers never carry credentials (refused at validate time, dropped by egressFetch);
    // the Google token is Switchyard's own, for Google's endpoint only (not followed elsewhere).
    const sent = await egressFetch(
      {
        url: url.href,
        method: 'GET',
        headers,
        signal,
        ...(token ? { ownHeaders: { authorization: `Bearer ${token}` } } : {}),
      },
      { policy: (opts.egress ?? installationPolicy)(), ...(send ? { send } : {}) },
    );
    response = sent;
    text = await sent.text();
  } catch (err) {
    if (err instanceof EgressRefusedError)
      return { kind: 'error', message: `${where} refused: ${err.message}` };
    const name = (err as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return { kind: 'error', message: `${where} did not answer within ${timeoutSeconds} s` };
    }
    return { kind: 'error', message: `${where} could not be reached: ${describeError(err)}` };
  }
  return interpret(where, response.status, response.statusText, text);
}

/** The request URL: the address keeps any path prefix it has; GMP only has location "global". */
function queryUrl(config: PrometheusConfig, nowMs: number, managedRoot: string): URL {
  const base = config.managed
    ? `${managedRoot.replace(/\/+$/, '')}/v1/projects/${encodeURIComponent(config.managed.project)}/location/global/prometheus`
    : (config.address ?? '').replace(/\/+$/, '');
  const url = new URL(`${base}/api/v1/${config.range ? 'query_range' : 'query'}`);
  const end = nowMs / 1000;
  url.searchParams.set('query', config.query);
  if (config.range) {
    url.searchParams.set('start', String(end - config.range.seconds));
    url.searchParams.set('end', String(end));
    url.searchParams.set('step', String(config.range.stepSeconds));
  } else {
    url.searchParams.set('time', String(end));
  }
  // Lets the server give up evaluating too, instead of working on for a client that has gone.
  url.searchParams.set('timeout', `${config.timeoutSeconds ?? 10}s`);
  return url;
}

function interpret(where: string, status: number, statusText: string, text: string): ProviderResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (status < 200 || status > 299) {
    const detail = errorDetail(json, text);
    return {
      kind: 'error',
      message: `${where} answered HTTP ${status} ${statusText}${detail ? `: ${detail}` : ''}`,
    };
  }
  // Prometheus may also report a failed evaluation with HTTP 200 (e.g. behind some proxies).
  if (errorBody.safeParse(json).success) {
    return { kind: 'error', message: `${where} answered an error: ${errorDetail(json, text)}` };
  }
  const ok = successBody.safeParse(json);
  if (!ok.success) {
    return {
      kind: 'error',
      message: `${where} answered something that is not a Prometheus query result: ${snippet(text)}`,
    };
  }
  const notes = [...(ok.data.warnings ?? []), ...(ok.data.infos ?? [])];
  const data = ok.data.data;
  switch (data.resultType) {
    case 'scalar':
      return numbers(where, 'scalar', [[data.result[1]]], notes, (v) => v[0]![0]!);
    case 'vector': {
      if (data.result.some((s) => !s.value)) return histogramError(where);
      return numbers(where, 'vector', [data.result.map((s) => s.value![1])], notes, (v) => v[0]!);
    }
    case 'matrix': {
      if (data.result.some((s) => !s.values)) return histogramError(where);
      return numbers(
        where,
        'matrix',
        data.result.map((s) => s.values!.map((p) => p[1])),
        notes,
        (v) => v,
      );
    }
    case 'string':
      return {
        kind: 'error',
        message: `${where}: the query gives a string ("${data.result[1]}"), not numbers`,
      };
  }
}

/**
 * Parses sample strings per series, drops NaN (and series left empty), and shapes what is left with
 * `shape`. Reports how much was dropped or clamped in the message.
 */
function numbers(
  where: string,
  kind: string,
  series: string[][],
  notes: string[],
  shape: (values: number[][]) => unknown,
): ProviderResult {
  let dropped = 0;
  let clamped = 0;
  const kept: number[][] = [];
  for (const values of series) {
    const out: number[] = [];
    for (const raw of values) {
      const v = parseSample(raw);
      if (v === undefined) {
        return { kind: 'error', message: `${where}: "${raw}" is not a sample value` };
      }
      if (Number.isNaN(v)) {
        dropped += 1;
      } else if (!Number.isFinite(v)) {
        clamped += 1;
        out.push(v > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE);
      } else {
        out.push(v);
      }
    }
    if (out.length > 0) kept.push(out);
  }
  const total = series.reduce((n, s) => n + s.length, 0);
  if (dropped > 0) notes.push(`${dropped} of ${total} value(s) NaN, dropped`);
  if (clamped > 0) notes.push(`${clamped} infinite value(s) given as ±Number.MAX_VALUE`);
  if (kept.length === 0) {
    const why = total === 0 ? `empty ${kind}` : `${kind} of NaN only`;
    return { kind: 'value', value: [], noData: true, message: [`no data: ${why}`, ...notes].join('; ') };
  }
  return {
    kind: 'value',
    value: shape(kept),
    noData: false,
    ...(notes.length > 0 ? { message: notes.join('; ') } : {}),
  };
}

/** Prometheus spells floats as Go does: "NaN", "+Inf", "-Inf", or a decimal. */
function parseSample(raw: string): number | undefined {
  if (raw === 'NaN') return Number.NaN;
  if (raw === '+Inf' || raw === 'Inf') return Number.POSITIVE_INFINITY;
  if (raw === '-Inf') return Number.NEGATIVE_INFINITY;
  const v = raw.trim() === '' ? Number.NaN : Number(raw);
  return Number.isNaN(v) ? undefined : v;
}

function histogramError(where: string): ProviderResult {
  return {
    kind: 'error',
    message: `${where}: the query gives native histograms, not numbers (wrap it in histogram_quantile() or histogram_count())`,
  };
}

/** The reason in an error body: Prometheus's `errorType: error`, Google's `error.message`, or the text. */
function errorDetail(json: unknown, text: string): string {
  const prom = errorBody.safeParse(json);
  if (prom.success && prom.data.error) {
    return prom.data.errorType ? `${prom.data.errorType}: ${prom.data.error}` : prom.data.error;
  }
  const google = (json as { error?: { message?: unknown; status?: unknown } } | undefined)?.error;
  if (google && typeof google.message === 'string') {
    return typeof google.status === 'string' ? `${google.status}: ${google.message}` : google.message;
  }
  return snippet(text);
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

/** An error's message with the network code fetch keeps in `cause` (ECONNREFUSED, ENOTFOUND, …). */
function describeError(err: unknown): string {
  const e = err as { message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const cause = e?.cause;
  if (cause && typeof cause.message === 'string' && cause.message !== message)
    return `${message}: ${cause.message}`;
  if (cause && typeof cause.code === 'string') return `${message} (${cause.code})`;
  return message;
}
