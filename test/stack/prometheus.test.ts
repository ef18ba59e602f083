// Prometheus from Debian answers with exactly the series a test loaded, and scrapes local endpoints.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { addScrapeTarget, removeScrapeTarget } from '../../infra/local/components/prometheus.ts';
import { waitFor } from '../../infra/local/process.ts';
import { LocalStack } from '../../infra/local/stack.ts';
import { stack, uniqueId } from '../support/stack.ts';

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function instant(query: string, time?: number): Promise<Sample[]> {
  const url = new URL('/api/v1/query', stack().prometheusUrl);
  url.searchParams.set('query', query);
  if (time !== undefined) url.searchParams.set('time', String(time));
  const res = await fetch(url);
  const body = (await res.json()) as { status: string; data: { resultType: string; result: Sample[] } };
  expect(body.status).toBe('success');
  return body.data.result;
}

const localStack = () => new LocalStack({ stateDir: stack().stateDir });

describe('Prometheus', () => {
  it('returns backfilled series with their exact values at the given times', async () => {
    const job = uniqueId('bf').replaceAll('-', '_');
    const t0 = Date.UTC(2024, 0, 1) / 1000;
    const lines = ['# TYPE http_requests counter'];
    for (let i = 0; i < 10; i++) {
      lines.push(`http_requests_total{job="${job}",code="200"} ${100 * i} ${t0 + 60 * i}`);
      lines.push(`http_requests_total{job="${job}",code="500"} ${3 * i} ${t0 + 60 * i}`);
    }
    await localStack().backfillPrometheus(lines.join('\n'));

    const at = t0 + 60 * 9;
    const ok = await instant(`http_requests_total{job="${job}",code="200"}`, at);
    expect(ok).toHaveLength(1);
    expect(ok[0]!.value).toEqual([at, '900']);

    const ratio = await instant(
      `sum(rate(http_requests_total{job="${job}",code="500"}[5m])) / sum(rate(http_requests_total{job="${job}"}[5m]))`,
      at,
    );
    expect(Number(ratio[0]!.value[1])).toBeCloseTo(3 / 103, 10);

    expect(await instant(`http_requests_total{job="${job}"}`, t0 - 3600)).toEqual([]);
  });

  it('returns backfilled samples near now through an instant query without a time', async () => {
    const job = uniqueId('now').replaceAll('-', '_');
    const now = Math.floor(Date.now() / 1000);
    const lines = ['# TYPE error_ratio gauge'];
    for (let i = 5; i >= 1; i--) lines.push(`error_ratio{job="${job}"} ${i / 100} ${now - 30 * i}`);
    await localStack().backfillPrometheus(lines.join('\n'));

    const result = await instant(`error_ratio{job="${job}"}`);
    expect(result).toHaveLength(1);
    expect(result[0]!.value[1]).toBe('0.01');
  });

  describe('scraping a local endpoint', () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits += 1;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(`# TYPE probe_hits counter\nprobe_hits_total ${hits}\n`);
    });
    const name = uniqueId('scrape');
    afterAll(async () => {
      removeScrapeTarget(localStack().prometheus(), name);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('scrapes a /metrics endpoint added as a target', async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      addScrapeTarget(localStack().prometheus(), name, `127.0.0.1:${port}`, { target: name });

      const samples = await waitFor(
        async () => {
          const r = await instant(`probe_hits_total{target="${name}"}`);
          return r.length === 1 && Number(r[0]!.value[1]) >= 2 ? r : undefined;
        },
        { timeoutMs: 30_000, what: 'Prometheus to scrape the local endpoint twice' },
      );
      expect(samples[0]!.metric).toMatchObject({ job: 'local', target: name });
    });
  });
});
