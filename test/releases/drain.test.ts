// The old revision's drain on the stack (spec.drain): a service whose clients hold long-lived
// connections to the old revision after the switch. Its open connections are a /metrics endpoint
// that the stack's Prometheus scrapes every second; the old revision is held, with every
// measurement recorded, until they are gone, and only then scaled to zero.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { addScrapeTarget, removeScrapeTarget } from '../../infra/local/components/prometheus.ts';
import { LocalStack } from '../../infra/local/stack.ts';
import { watchInvariants } from '../support/invariants.ts';
import { releaseFixture } from '../support/release.ts';
import { stack, uniqueId } from '../support/stack.ts';

const revisionLabel = 'switchyard.dev/revision';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A /metrics endpoint of the old revision's open connections, scraped by the stack's Prometheus. */
async function connectionsEndpoint(name: string) {
  const state = { revision: '', open: 0 };
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(`# TYPE open_connections gauge\nopen_connections{revision="${state.revision}"} ${state.open}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const prometheus = new LocalStack({ stateDir: stack().stateDir }).prometheus();
  addScrapeTarget(prometheus, name, `127.0.0.1:${(server.address() as AddressInfo).port}`, { target: name });
  cleanups.push(async () => {
    removeScrapeTarget(prometheus, name);
    await new Promise((resolve) => server.close(resolve));
  });
  return state;
}

describe('drain', () => {
  it('holds the old revision while its connections stay open, and scales it down once they are gone', async () => {
    const name = uniqueId('drain');
    const connections = await connectionsEndpoint(name);
    const f = await releaseFixture('drain', {
      analysis: {
        templates: [
          {
            name: 'open-connections',
            metrics: [
              {
                name: 'connections',
                interval: '1s',
                successCondition: 'result[0] < 1',
                provider: {
                  prometheus: {
                    address: stack().prometheusUrl,
                    query: `max(open_connections{target="${name}",revision="{{release.blueRevision}}"})`,
                  },
                },
              },
            ],
          },
        ],
      },
      drain: { templates: [{ templateName: 'open-connections' }], maxWaitSeconds: 120 },
    });
    cleanups.push(() => f.close());
    const invariants = watchInvariants(f);
    cleanups.push(async () => expect((await invariants.stop()).violations).toEqual([]));

    await f.push(2);
    const first = await f.waitRelease(`${f.name}-1`, (r) => r.stable !== null);
    connections.revision = first.stable!.revision;
    connections.open = 4;
    // Switched, then held: the old revision keeps its pods while its connections are measured open.
    const held = await f.waitRelease(
      first.id,
      (r) =>
        (r.analysis.drain?.metrics[0]?.measurements.filter((m) => m.phase === 'Failed').length ?? 0) >= 3,
    );
    expect(held.phase).toBe('ScalingDown');
    expect(held.reason).toBe(`holding ${held.stable!.deployment} until it has drained (at most 120 s)`);
    expect((await f.selector('api'))[revisionLabel]).toBe(held.candidate!.revision);
    expect((await f.deployment(held.stable!.deployment))?.spec?.replicas).toBe(3);

    const drainedFrom = Date.now();
    connections.open = 0;
    const done = await f.waitRelease(first.id);
    expect(done.phase).toBe('Succeeded');
    expect((await f.deployment(done.stable!.deployment))?.spec?.replicas).toBe(0);
    // The first looks may find no series yet (Prometheus scrapes every second): no data, no value.
    const measured = done.analysis.drain!.metrics[0]!.measurements.filter((m) => m.value !== undefined);
    expect(measured.at(0)!.value).toEqual([4]);
    expect(measured.at(-1)!.value).toEqual([0]);
    expect(done.analysis.drain!.phase).toBe('Successful');
    const drained = done.history.find((h) => h.reason?.includes(' drained after '));
    expect(drained?.reason).toMatch(
      new RegExp(`^${done.stable!.deployment} drained after [0-9.]+ s: connections = \\[0\\]$`),
    );
    // For the record: connections gone -> old revision scaled to zero.
    const scaled = done.history.find((h) => h.to === 'Succeeded')!.at;
    console.info(`drain: connections gone -> old revision scaled down ${scaled - drainedFrom} ms`);
  });
});
