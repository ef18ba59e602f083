// How the prometheus provider builds its request and reads Prometheus's answers, with a fake fetch.
// The real server is exercised in test/analysis/prometheus.test.ts.
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { providerContract } from '../../../../test/analysis/contract.ts';
import { publicOnly } from '../../../egress/policy.ts';
import type { MeasureContext } from '../../provider.ts';
import { type PrometheusConfig, prometheusConfigSchema, prometheusProvider } from './index.ts';

const now = Date.UTC(2024, 0, 1, 12); // 1704110400 s

function ctx(token = 'tok-1'): MeasureContext {
  return {
    namespace: 'shop',
    releaseId: 'r1',
    metric: 'error-ratio',
    index: 0,
    run: 'pre',
    kubeConfig: new KubeConfig(),
    googleToken: async () => token,
    now: () => now,
  };
}

function config(over: Record<string, unknown> = {}): PrometheusConfig {
  return prometheusConfigSchema.parse({ address: 'http://prom.test:9090', query: 'up', ...over });
}

interface Seen {
  url: URL;
  headers: Headers;
}

/** A fetch that records the request and answers with `status` and `body` (an object is sent as JSON). */
function fakeFetch(status: number, body: unknown, seen: Seen[] = []): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    seen.push({ url: new URL(String(input)), headers: new Headers(init?.headers) });
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return new Response(text, { status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
}

const vector = (...values: string[]) => ({
  status: 'success',
  data: {
    resultType: 'vector',
    result: values.map((v, i) => ({ metric: { pod: `p${i}` }, value: [now / 1000, v] })),
  },
});

async function measure(status: number, body: unknown, over: Record<string, unknown> = {}) {
  return prometheusProvider({ fetch: fakeFetch(status, body) }).measure(config(over), ctx());
}

const refused = (async () => {
  throw new TypeError('fetch failed', {
    cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
  });
}) as typeof fetch;

// The same suite runs against a real Prometheus in test/analysis/prometheus.test.ts.
const answering = fakeFetch(200, vector('0.5'));
providerContract({
  name: 'prometheus (fake fetch)',
  provider: prometheusProvider({
    fetch: (input, init) => (String(input).startsWith('http://down.test') ? refused : answering)(input, init),
  }),
  working: async () => ({ config: config(), ctx: ctx() }),
  unreachable: async () => ({ config: config({ address: 'http://down.test' }), ctx: ctx() }),
});

describe('prometheus config', () => {
  it('needs exactly one of address and managed', () => {
    expect(prometheusConfigSchema.safeParse({ query: 'up' }).success).toBe(false);
    expect(
      prometheusConfigSchema.safeParse({ query: 'up', address: 'http://p', managed: { project: 'x' } })
        .success,
    ).toBe(false);
    expect(prometheusConfigSchema.safeParse({ query: 'up', managed: { project: 'x' } }).success).toBe(true);
  });

  it('refuses unknown fields and non-http addresses, and defaults the timeout to 10 s', () => {
    expect(prometheusConfigSchema.safeParse({ query: 'up', address: 'http://p', step: 1 }).success).toBe(
      false,
    );
    expect(prometheusConfigSchema.safeParse({ query: 'up', address: 'file:///etc' }).success).toBe(false);
    expect(config().timeoutSeconds).toBe(10);
  });
});

describe('prometheus provider', () => {
  it('sends an instant query at ctx.now() to /api/v1/query under the address, with its headers', async () => {
    const seen: Seen[] = [];
    const provider = prometheusProvider({ fetch: fakeFetch(200, vector('1'), seen) });
    await provider.measure(
      config({ address: 'http://prom.test:9090/prefix/', headers: [{ name: 'X-Scope-OrgID', value: 't1' }] }),
      ctx(),
    );
    expect(seen).toHaveLength(1);
    const { url, headers } = seen[0]!;
    expect(`${url.origin}${url.pathname}`).toBe('http://prom.test:9090/prefix/api/v1/query');
    expect(Object.fromEntries(url.searchParams)).toEqual({ query: 'up', time: '1704110400', timeout: '10s' });
    expect(headers.get('x-scope-orgid')).toBe('t1');
    expect(headers.get('authorization')).toBeNull();
  });

  it('sends a range query ending at ctx.now() to /api/v1/query_range', async () => {
    const seen: Seen[] = [];
    const provider = prometheusProvider({ fetch: fakeFetch(200, vector('1'), seen) });
    await provider.measure(config({ range: { seconds: 300, stepSeconds: 60 } }), ctx());
    expect(seen[0]!.url.pathname).toBe('/api/v1/query_range');
    expect(Object.fromEntries(seen[0]!.url.searchParams)).toEqual({
      query: 'up',
      start: String(1704110400 - 300),
      end: '1704110400',
      step: '60',
      timeout: '10s',
    });
  });

  it('asks Google Managed Prometheus for the project with a Google token', async () => {
    const seen: Seen[] = [];
    const provider = prometheusProvider({
      fetch: fakeFetch(200, vector('1'), seen),
      managedRoot: 'http://gmp.test/',
    });
    const result = await provider.measure(
      prometheusConfigSchema.parse({ managed: { project: 'my-proj' }, query: 'up' }),
      ctx('ya29.secret'),
    );
    expect(result).toEqual({ kind: 'value', value: [1], noData: false });
    expect(seen[0]!.url.href.split('?')[0]).toBe(
      'http://gmp.test/v1/projects/my-proj/location/global/prometheus/api/v1/query',
    );
    expect(seen[0]!.headers.get('authorization')).toBe('Bearer ya29.secret');
  });

  it('gives a vector as numbers, one per series in the order returned', async () => {
    expect(await measure(200, vector('0.25', '3', '1e-3'))).toEqual({
      kind: 'value',
      value: [0.25, 3, 0.001],
      noData: false,
    });
  });

  it('gives a scalar as a number', async () => {
    const body = { status: 'success', data: { resultType: 'scalar', result: [now / 1000, '0.5'] } };
    expect(await measure(200, body)).toEqual({ kind: 'value', value: 0.5, noData: false });
  });

  it('gives a matrix as one array of numbers per series', async () => {
    const body = {
      status: 'success',
      data: {
        resultType: 'matrix',
        result: [
          {
            metric: { a: '1' },
            values: [
              [1, '1'],
              [2, '2'],
            ],
          },
          { metric: { a: '2' }, values: [[1, '10']] },
        ],
      },
    };
    expect(await measure(200, body, { range: { seconds: 60, stepSeconds: 30 } })).toEqual({
      kind: 'value',
      value: [[1, 2], [10]],
      noData: false,
    });
  });

  it('reports an empty vector as no data', async () => {
    const result = await measure(200, vector());
    expect(result).toMatchObject({ kind: 'value', value: [], noData: true });
    expect((result as { message: string }).message).toContain('empty vector');
  });

  it('reports NaN everywhere as no data with value [], and drops NaN next to numbers', async () => {
    const allNaN = await measure(200, vector('NaN', 'NaN'));
    expect(allNaN).toMatchObject({ kind: 'value', value: [], noData: true });
    expect((allNaN as { message: string }).message).toContain('NaN');

    const scalarNaN = { status: 'success', data: { resultType: 'scalar', result: [1, 'NaN'] } };
    expect(await measure(200, scalarNaN)).toMatchObject({ kind: 'value', value: [], noData: true });

    const some = await measure(200, vector('NaN', '0.1'));
    expect(some).toEqual({
      kind: 'value',
      value: [0.1],
      noData: false,
      message: '1 of 2 value(s) NaN, dropped',
    });
    // What is stored must survive JSON.
    expect(JSON.parse(JSON.stringify(some))).toEqual(some);
  });

  it('keeps infinities comparable but JSON-safe', async () => {
    const result = await measure(200, vector('+Inf', '-Inf'));
    expect(result).toMatchObject({
      kind: 'value',
      value: [Number.MAX_VALUE, -Number.MAX_VALUE],
      noData: false,
    });
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('passes Prometheus warnings on in the message', async () => {
    const body = { ...vector('1'), warnings: ['PromQL info: metric might not be a counter'] };
    expect(await measure(200, body)).toEqual({
      kind: 'value',
      value: [1],
      noData: false,
      message: 'PromQL info: metric might not be a counter',
    });
  });

  it('turns an error body into an error naming the URL, the status and the reason', async () => {
    const body = { status: 'error', errorType: 'bad_data', error: 'parse error at char 4' };
    const result = await measure(400, body);
    expect(result.kind).toBe('error');
    const { message } = result as { message: string };
    expect(message).toContain('http://prom.test:9090/api/v1/query');
    expect(message).toContain('HTTP 400');
    expect(message).toContain('bad_data: parse error at char 4');
  });

  it("turns status 'error' with HTTP 200, a non-JSON page and a Google error into errors", async () => {
    expect(
      await measure(200, { status: 'error', errorType: 'timeout', error: 'query timed out' }),
    ).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('timeout: query timed out'),
    });
    expect(await measure(502, '<html>Bad Gateway</html>')).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('HTTP 502'),
    });
    const google = { error: { code: 403, message: 'Permission denied', status: 'PERMISSION_DENIED' } };
    expect(await measure(403, google)).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('PERMISSION_DENIED: Permission denied'),
    });
    expect(await measure(200, { hello: 'world' })).toMatchObject({ kind: 'error' });
  });

  it('refuses strings and native histograms, which conditions cannot compare', async () => {
    const str = { status: 'success', data: { resultType: 'string', result: [1, 'hi'] } };
    expect(await measure(200, str)).toMatchObject({ kind: 'error' });
    const hist = {
      status: 'success',
      data: { resultType: 'vector', result: [{ metric: {}, histogram: [1, { count: '3' }] }] },
    };
    expect(await measure(200, hist)).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('histogram'),
    });
  });

  it('turns a network failure, a timeout and a failing token into errors without throwing', async () => {
    expect(await prometheusProvider({ fetch: refused }).measure(config(), ctx())).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('ECONNREFUSED'),
    });

    // Answers only when aborted, as a stalled server would.
    const stalled = ((_: unknown, init?: RequestInit) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      })) as typeof fetch;
    const slow = await prometheusProvider({ fetch: stalled }).measure(config({ timeoutSeconds: 1 }), ctx());
    expect(slow).toMatchObject({ kind: 'error', message: expect.stringContaining('within 1 s') });

    const noToken: MeasureContext = {
      ...ctx(),
      googleToken: async () => {
        throw new Error('no ADC');
      },
    };
    const managed = prometheusConfigSchema.parse({ managed: { project: 'p' }, query: 'up' });
    expect(
      await prometheusProvider({ fetch: fakeFetch(200, vector('1')) }).measure(managed, noToken),
    ).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('no ADC'),
    });
  });
});

describe('prometheus addresses and headers a target may not use (issue 11)', () => {
  const issues = (over: Record<string, unknown>) =>
    prometheusConfigSchema
      .safeParse({ query: 'up', ...over })
      .error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

  it('refuses the metadata server and credential headers at validate time', () => {
    expect(issues({ address: 'http://metadata.google.internal/computeMetadata/v1' })).toEqual([
      'address: metadata.google.internal is a cloud metadata server: Switchyard never sends requests there',
    ]);
    expect(issues({ address: 'http://[fd00:ec2::254]/' })[0]).toMatch(
      /^address: fd00:ec2::254 is a cloud metadata/,
    );
    expect(
      issues({ address: 'http://p:9090', headers: [{ name: 'Authorization', value: 'Basic x' }] }),
    ).toEqual([
      'headers.0.name: header Authorization is not passed through (credentials and metadata-server headers are never sent for a target): remove it',
    ]);
  });

  it('refuses a private address the allow-list does not name when measuring, and follows no redirect unchecked', async () => {
    const seen: Seen[] = [];
    const provider = prometheusProvider({
      fetch: fakeFetch(200, vector('1'), seen),
      egress: () => publicOnly,
    });
    expect(await provider.measure(config({ address: 'http://10.0.0.5:9090' }), ctx())).toEqual({
      kind: 'error',
      message:
        'Prometheus http://10.0.0.5:9090/api/v1/query refused: 10.0.0.5 is a private address, which this installation does not allow: add 10.0.0.5 to SWITCHYARD_EGRESS_ALLOW to reach it',
    });
    expect(seen).toHaveLength(0);
    const redirecting = (async () =>
      new Response('', { status: 302, headers: { location: 'http://169.254.169.254/' } })) as typeof fetch;
    const result = await prometheusProvider({ fetch: redirecting, egress: () => publicOnly }).measure(
      config(),
      ctx(),
    );
    expect(result).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('169.254.169.254 is a cloud metadata server'),
    });
  });
});
