// The cloud-monitoring provider against a local HTTP server standing in for monitoring.googleapis.com:
// the exact request googleapis sends, pagination, how points reduce to values, and faults.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { providerContract } from '../../../../test/analysis/contract.ts';
import type { MeasureContext } from '../../provider.ts';
import { type CloudMonitoringConfig, cloudMonitoringConfigSchema, cloudMonitoringProvider } from './index.ts';

const now = Date.UTC(2024, 0, 1, 12, 0, 0);
const filter =
  'metric.type="loadbalancing.googleapis.com/https/request_count" AND resource.type="https_lb_rule" AND resource.labels.backend_target_name="shop-preview"';

interface Page {
  status: number;
  body: unknown;
  /** Answer only after this long, as a stalled backend would. */
  delayMs?: number;
}

interface Seen {
  url: URL;
  authorization: string | undefined;
}

/** Answers each request with the next of `pages` (the last one repeats) and records what it got. */
class FakeMonitoring {
  server: Server;
  pages: Page[] = [];
  seen: Seen[] = [];
  rootUrl = '';

  constructor() {
    this.server = createServer((req: IncomingMessage, res) => {
      this.seen.push({
        url: new URL(req.url ?? '/', 'http://fake'),
        authorization: req.headers.authorization,
      });
      const page = this.pages[Math.min(this.seen.length - 1, this.pages.length - 1)] ?? {
        status: 200,
        body: {},
      };
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(page.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(page.body));
      };
      if (page.delayMs) setTimeout(answer, page.delayMs);
      else answer();
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.rootUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function ctx(token = 'ya29.test-token'): MeasureContext {
  return {
    namespace: 'shop',
    releaseId: 'r1',
    metric: 'error-rate',
    index: 0,
    run: 'post',
    kubeConfig: new KubeConfig(),
    googleToken: async () => token,
    now: () => now,
  };
}

function config(over: Record<string, unknown> = {}): CloudMonitoringConfig {
  return cloudMonitoringConfigSchema.parse({ project: 'P', filter, windowSeconds: 300, ...over });
}

/** A series with points given newest first, as the API lists them; minute `m` ends at now - m min. */
function series(label: string, ...points: [minutesAgo: number, value: Record<string, unknown>][]) {
  return {
    metric: {
      type: 'loadbalancing.googleapis.com/https/request_count',
      labels: { response_code_class: label },
    },
    resource: { type: 'https_lb_rule', labels: {} },
    metricKind: 'DELTA',
    valueType: 'INT64',
    points: points.map(([m, value]) => ({
      interval: {
        startTime: new Date(now - (m + 1) * 60_000).toISOString(),
        endTime: new Date(now - m * 60_000).toISOString(),
      },
      value,
    })),
  };
}

/** A closed loopback port: connecting is refused at once. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const fake = new FakeMonitoring();
beforeAll(() => fake.start());
afterAll(() => fake.stop());

describe('cloud-monitoring provider', () => {
  beforeEach(() => {
    fake.seen = [];
    fake.pages = [];
  });

  it('builds the timeSeries.list request from the config, follows nextPageToken and combines the pages', async () => {
    fake.pages = [
      {
        status: 200,
        body: {
          timeSeries: [series('200', [0, { int64Value: '120' }], [1, { int64Value: '100' }])],
          nextPageToken: 'pg2',
        },
      },
      {
        status: 200,
        body: { timeSeries: [series('500', [1, { int64Value: '3' }], [0, { int64Value: '7' }])] },
      },
    ];
    const provider = cloudMonitoringProvider({ rootUrl: fake.rootUrl });
    const result = await provider.measure(
      config({
        aggregation: {
          alignmentPeriodSeconds: 60,
          perSeriesAligner: 'ALIGN_DELTA',
          crossSeriesReducer: 'REDUCE_SUM',
          groupByFields: ['metric.labels.response_code_class', 'resource.labels.backend_name'],
        },
      }),
      ctx(),
    );

    // The newest point of each series, in the order listed across both pages.
    expect(result).toEqual({ kind: 'value', value: [120, 7], noData: false });
    expect(fake.seen).toHaveLength(2);
    const [first, second] = fake.seen as [Seen, Seen];
    expect(first.url.pathname).toBe('/v3/projects/P/timeSeries');
    expect(first.authorization).toBe('Bearer ya29.test-token');
    const params = first.url.searchParams;
    expect(params.get('filter')).toBe(filter);
    expect(params.get('interval.startTime')).toBe('2024-01-01T11:55:00.000Z');
    expect(params.get('interval.endTime')).toBe('2024-01-01T12:00:00.000Z');
    expect(params.get('aggregation.alignmentPeriod')).toBe('60s');
    expect(params.get('aggregation.perSeriesAligner')).toBe('ALIGN_DELTA');
    expect(params.get('aggregation.crossSeriesReducer')).toBe('REDUCE_SUM');
    expect(params.getAll('aggregation.groupByFields')).toEqual([
      'metric.labels.response_code_class',
      'resource.labels.backend_name',
    ]);
    expect(params.has('pageToken')).toBe(false);
    // The second page is the same request plus the token.
    expect(second.url.searchParams.get('pageToken')).toBe('pg2');
    expect(second.url.searchParams.get('filter')).toBe(filter);
    expect(second.authorization).toBe('Bearer ya29.test-token');
  });

  it('sends no aggregation parameters without an aggregation', async () => {
    fake.pages = [{ status: 200, body: {} }];
    await cloudMonitoringProvider({ rootUrl: fake.rootUrl }).measure(config(), ctx());
    const keys = [...fake.seen[0]!.url.searchParams.keys()].sort();
    expect(keys).toEqual(['filter', 'interval.endTime', 'interval.startTime']);
  });

  it('reduces all points of all series with sum, mean, max and min; reads doubles and int64 strings', async () => {
    fake.pages = [
      {
        status: 200,
        body: {
          timeSeries: [series('a', [0, { doubleValue: 0.5 }], [1, { doubleValue: 1.5 }])],
          nextPageToken: 'x',
        },
      },
      { status: 200, body: { timeSeries: [series('b', [0, { int64Value: '4' }])] } },
    ];
    const provider = cloudMonitoringProvider({ rootUrl: fake.rootUrl });
    const value = async (pick: string) => {
      fake.seen = [];
      const r = await provider.measure(config({ pick }), ctx());
      return (r as { value: unknown }).value;
    };
    expect(await value('sum')).toBe(6);
    expect(await value('mean')).toBe(2);
    expect(await value('max')).toBe(4);
    expect(await value('min')).toBe(0.5);
    expect(await value('last')).toEqual([0.5, 4]);
  });

  it('reports no points as no data', async () => {
    fake.pages = [{ status: 200, body: { unit: '1' } }];
    const result = await cloudMonitoringProvider({ rootUrl: fake.rootUrl }).measure(config(), ctx());
    expect(result).toMatchObject({ kind: 'value', value: [], noData: true });
  });

  it('drops NaN points (JSON-safe) and gives no data when nothing else is left', async () => {
    fake.pages = [{ status: 200, body: { timeSeries: [series('a', [0, { doubleValue: 'NaN' }])] } }];
    const result = await cloudMonitoringProvider({ rootUrl: fake.rootUrl }).measure(config(), ctx());
    expect(result).toMatchObject({ kind: 'value', value: [], noData: true });
    expect((result as { message: string }).message).toContain('NaN');
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('turns an error status into an error with the status and Google reason', async () => {
    fake.pages = [
      {
        status: 400,
        body: {
          error: { code: 400, message: 'Field filter had an invalid value', status: 'INVALID_ARGUMENT' },
        },
      },
    ];
    const result = await cloudMonitoringProvider({ rootUrl: fake.rootUrl }).measure(config(), ctx());
    expect(result.kind).toBe('error');
    expect((result as { message: string }).message).toContain('HTTP 400');
    expect((result as { message: string }).message).toContain(
      'INVALID_ARGUMENT: Field filter had an invalid value',
    );
    // One measurement, one attempt: no retries behind the engine's back.
    expect(fake.seen).toHaveLength(1);
  });

  it('turns a 500 on a later page into an error, not a partial value', async () => {
    fake.pages = [
      { status: 200, body: { timeSeries: [series('a', [0, { int64Value: '1' }])], nextPageToken: 'p2' } },
      { status: 503, body: { error: { code: 503, message: 'backend unavailable', status: 'UNAVAILABLE' } } },
    ];
    const result = await cloudMonitoringProvider({ rootUrl: fake.rootUrl }).measure(config(), ctx());
    expect(result).toMatchObject({ kind: 'error', message: expect.stringContaining('HTTP 503') });
  });

  it('gives up after timeoutSeconds for all pages together', async () => {
    fake.pages = [
      { status: 200, body: { timeSeries: [series('a', [0, { int64Value: '1' }])], nextPageToken: 'p2' } },
      { status: 200, body: {}, delayMs: 3000 },
    ];
    const started = Date.now();
    const result = await cloudMonitoringProvider({ rootUrl: fake.rootUrl }).measure(
      config({ timeoutSeconds: 1 }),
      ctx(),
    );
    expect(result).toMatchObject({ kind: 'error', message: expect.stringContaining('within 1 s') });
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('refuses distribution points, which conditions cannot compare', async () => {
    fake.pages = [
      {
        status: 200,
        body: {
          timeSeries: [
            { valueType: 'DISTRIBUTION', points: [{ value: { distributionValue: { count: '3' } } }] },
          ],
        },
      },
    ];
    const result = await cloudMonitoringProvider({ rootUrl: fake.rootUrl }).measure(config(), ctx());
    expect(result).toMatchObject({ kind: 'error', message: expect.stringContaining('DISTRIBUTION') });
  });

  it('turns a failing token into an error without asking the API', async () => {
    const noToken = {
      ...ctx(),
      googleToken: async () => {
        throw new Error('no ADC');
      },
    };
    const result = await cloudMonitoringProvider({ rootUrl: fake.rootUrl }).measure(config(), noToken);
    expect(result).toMatchObject({ kind: 'error', message: expect.stringContaining('no ADC') });
    expect(fake.seen).toHaveLength(0);
  });
});

describe('cloud-monitoring config', () => {
  it('is strict, defaults pick and timeout, and checks aligner and reducer names', () => {
    expect(config()).toMatchObject({ pick: 'last', timeoutSeconds: 10 });
    const parse = (c: Record<string, unknown>) =>
      cloudMonitoringConfigSchema.safeParse({ project: 'P', filter, windowSeconds: 60, ...c }).success;
    expect(parse({ extra: 1 })).toBe(false);
    expect(parse({ aggregation: { alignmentPeriodSeconds: 60, perSeriesAligner: 'RATE' } })).toBe(false);
    expect(parse({ aggregation: { alignmentPeriodSeconds: 60, perSeriesAligner: 'ALIGN_RATE' } })).toBe(true);
    expect(parse({ pick: 'median' })).toBe(false);
    expect(parse({ windowSeconds: 0 })).toBe(false);
  });
});

// The contract suite, with the fake as the working source and a closed port as the unreachable one.
// The suite takes one provider; this one sends project "down" to the closed port. Built per call
// because the ports are only known once beforeAll has run.
const contractFake = new FakeMonitoring();
contractFake.pages = [{ status: 200, body: { timeSeries: [series('200', [0, { int64Value: '5' }])] } }];
let downRoot = '';
beforeAll(async () => {
  await contractFake.start();
  downRoot = `http://127.0.0.1:${await closedPort()}/`;
});
afterAll(() => contractFake.stop());
providerContract<CloudMonitoringConfig>({
  name: 'cloud-monitoring',
  provider: {
    measure: (cfg, c) =>
      cloudMonitoringProvider({ rootUrl: cfg.project === 'down' ? downRoot : contractFake.rootUrl }).measure(
        cfg,
        c,
      ),
  },
  working: async () => ({ config: config(), ctx: ctx() }),
  unreachable: async () => ({ config: config({ project: 'down' }), ctx: ctx() }),
});
