// The same canary for each traffic router (Gateway API, NGINX, replica ratio): setWeight 10,
// pause 2 s, an analysis step, setWeight 50, pause until promote — with the weight in force checked
// at every stop, aborts at each kind of step, and nothing left behind at the end.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CustomObjectsApi, NetworkingV1Api } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Release } from '../../shared/engine/release.ts';
import { httpRouteApi } from '../../shared/routers/gateway-httproute/index.ts';
import { type InvariantChecker, watchInvariants } from '../support/invariants.ts';
import { createStableIngress } from '../support/kube-fixtures.ts';
import { type Fixture, releaseFixture } from '../support/release.ts';

const revisionLabel = 'switchyard.dev/revision';
const replicas = 4;

let server: Server;
let analysisUrl = '';
beforeAll(async () => {
  // The analysis step's source: a slow, healthy error rate (the request takes 1.5 s).
  server = createServer((_req, res) => {
    setTimeout(
      () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"errorRate":0.01}'),
      1500,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  analysisUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

interface RouterCase {
  name: string;
  trafficRouting?: Record<string, unknown>;
  /** Creates the user's routing object (and stands in for a data plane where one is needed). */
  setup(fx: Fixture): Promise<() => void>;
  /** The canary's share as the cluster says now (router objects or replica ratio). */
  weight(fx: Fixture, release: Release): Promise<number>;
  /** The weight each asked weight becomes on this router. */
  expected(asked: number): number;
  /** True when no canary routing object is left (and all traffic goes to stable). */
  clean(fx: Fixture): Promise<boolean>;
}

interface Route {
  metadata: { generation: number };
  spec: { rules: { name?: string; backendRefs: { name: string; weight?: number }[] }[] };
  status?: unknown;
}

const gateway: RouterCase = {
  name: 'gatewayAPI',
  trafficRouting: { gatewayAPI: { httpRoute: 'api' } },
  async setup(fx) {
    const api = fx.kube.kubeConfig.makeApiClient(CustomObjectsApi);
    const ref = { ...httpRouteApi, namespace: fx.namespace };
    await api.createNamespacedCustomObject({
      ...ref,
      body: {
        apiVersion: `${httpRouteApi.group}/${httpRouteApi.version}`,
        kind: 'HTTPRoute',
        metadata: { name: 'api' },
        spec: { parentRefs: [{ name: 'external' }], rules: [{ backendRefs: [{ name: 'api', port: 80 }] }] },
      },
    });
    let running = true;
    void (async () => {
      while (running) {
        try {
          const route = (await api.getNamespacedCustomObject({ ...ref, name: 'api' })) as Route;
          const g = route.metadata.generation;
          const seen = (
            route.status as { parents?: { conditions?: { observedGeneration?: number }[] }[] } | undefined
          )?.parents?.[0]?.conditions?.[0]?.observedGeneration;
          if (seen !== g) {
            const condition = {
              type: 'Accepted',
              status: 'True',
              reason: 'Accepted',
              message: 'stand-in',
              observedGeneration: g,
            };
            const lastTransitionTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
            const parents = [
              {
                parentRef: { name: 'external' },
                controllerName: 'example.com/gw',
                conditions: [{ ...condition, lastTransitionTime }],
              },
            ];
            await api.replaceNamespacedCustomObjectStatus({
              ...ref,
              name: 'api',
              body: { ...route, status: { parents } },
            });
          }
        } catch {
          // changed under us: look again
        }
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    return () => {
      running = false;
    };
  },
  async weight(fx) {
    const api = fx.kube.kubeConfig.makeApiClient(CustomObjectsApi);
    const route = (await api.getNamespacedCustomObject({
      ...httpRouteApi,
      namespace: fx.namespace,
      name: 'api',
    })) as Route;
    const refs = route.spec.rules.find((r) => !r.name?.startsWith('switchyard-'))?.backendRefs ?? [];
    const all = refs.reduce((a, b) => a + (b.weight ?? 1), 0);
    return all
      ? Math.round(
          (100 * refs.filter((b) => b.name === 'api-canary').reduce((a, b) => a + (b.weight ?? 1), 0)) / all,
        )
      : 0;
  },
  expected: (w) => w,
  async clean(fx) {
    const api = fx.kube.kubeConfig.makeApiClient(CustomObjectsApi);
    const route = (await api.getNamespacedCustomObject({
      ...httpRouteApi,
      namespace: fx.namespace,
      name: 'api',
    })) as Route;
    return JSON.stringify(route.spec.rules.map((r) => r.backendRefs.map((b) => b.name))) === '[["api"]]';
  },
};

const nginx: RouterCase = {
  name: 'nginx',
  trafficRouting: { nginx: { stableIngress: 'api' } },
  async setup(fx) {
    await createStableIngress(fx.kube, fx.namespace);
    return () => undefined;
  },
  async weight(fx) {
    try {
      const ing = await fx.kube.kubeConfig
        .makeApiClient(NetworkingV1Api)
        .readNamespacedIngress({ name: 'api-canary', namespace: fx.namespace });
      return Number(ing.metadata?.annotations?.['nginx.ingress.kubernetes.io/canary-weight'] ?? 0);
    } catch {
      return 0;
    }
  },
  expected: (w) => w,
  async clean(fx) {
    return fx.kube.kubeConfig
      .makeApiClient(NetworkingV1Api)
      .readNamespacedIngress({ name: 'api-canary', namespace: fx.namespace })
      .then(() => false)
      .catch(() => true);
  },
};

const replicaRatio: RouterCase = {
  name: 'none (replica ratio)',
  async setup() {
    return () => undefined;
  },
  async weight(fx, release) {
    const counts = await fx.cluster.endpoints(fx.namespace, 'api');
    const canary = counts.readyByRevision[release.candidate!.revision] ?? 0;
    const all = Object.values(counts.readyByRevision).reduce((a, b) => a + b, 0);
    return all ? Math.round((100 * canary) / all) : 0;
  },
  // With 4 replicas: 10% -> 1 canary of 4 pods (25%), 50% -> 2 of 4.
  expected: (w) => Math.round((100 * Math.ceil((replicas * w) / 100)) / replicas),
  async clean(fx) {
    const selector = await fx.selector('api');
    return selector[revisionLabel] !== undefined;
  },
};

const steps = [
  { setWeight: 10 },
  { pause: { duration: 2 } },
  { analysis: { templates: [{ templateName: 'smoke' }] } },
  { setWeight: 50 },
  { pause: {} },
];
const analysis = (count: number) => ({
  templates: [
    {
      name: 'smoke',
      metrics: [
        {
          name: 'error-rate',
          count,
          interval: '1s',
          successCondition: 'result < 0.05',
          provider: { web: { url: analysisUrl, jsonPath: '$.errorRate' } },
        },
      ],
    },
  ],
});

describe.each([gateway, nginx, replicaRatio])('canary through $name', (router) => {
  let f: Fixture | undefined;
  let stop: (() => void) | undefined;
  let invariants: InvariantChecker | undefined;
  afterEach(async () => {
    const result = await invariants?.stop();
    stop?.();
    await f?.close();
    f = undefined;
    invariants = undefined;
    expect(result?.violations ?? []).toEqual([]);
  });

  async function start(prefix: string, count: number): Promise<Fixture> {
    f = await releaseFixture(prefix, {
      replicas,
      analysis: analysis(count),
      canary: {
        steps,
        ...(router.trafficRouting ? { trafficRouting: router.trafficRouting } : {}),
      },
    });
    stop = await router.setup(f);
    invariants = watchInvariants(f);
    return f;
  }

  const atStep = (i: number) => (r: Release) => r.phase === 'Progressing' && r.canary?.step === i;

  /**
   * The weight the router's objects show, given a moment to settle: EndpointSlices list a pod of a
   * scale-down as ready for a moment after the release records the weight in force (replica ratio).
   */
  async function settledWeight(fx: Fixture, release: Release, expected: number): Promise<number> {
    let weight = await router.weight(fx, release);
    const deadline = Date.now() + 1500;
    while (weight !== expected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      weight = await router.weight(fx, release);
    }
    return weight;
  }

  it('10%, pause 2 s, analysis, 50%, pause, promote: the weight in force at every stop, nothing left behind', async () => {
    const fx = await start(`cr-${router.name.slice(0, 4)}`, 1);
    await fx.push(2);
    const id = `${fx.name}-1`;
    const ten = await fx.waitRelease(id, atStep(1));
    expect(await settledWeight(fx, ten, router.expected(10))).toBe(router.expected(10));
    expect(ten.canary?.inForce?.weight).toBe(router.expected(10));
    const paused = await fx.waitRelease(id, (r) => r.phase === 'AwaitingPromotion');
    expect(await settledWeight(fx, paused, router.expected(50))).toBe(router.expected(50));
    expect(paused.canary?.stepRuns[0]?.phase).toBe('Successful');
    const tenAt = paused.history.find((h) => h.reason?.startsWith('weight 10 in force'))!.at;
    const analysisAt = paused.history.find((h) => h.reason === 'analysis at step 3 running')!.at;
    expect(analysisAt - tenAt).toBeGreaterThanOrEqual(2000);

    await fx.control('promote');
    const done = await fx.waitRelease(id);
    expect(done.phase).toBe('Succeeded');
    expect((await fx.selector('api'))[revisionLabel]).toBe(done.candidate!.revision);
    expect(await router.clean(fx)).toBe(true);
    expect((await fx.deployment(done.candidate!.deployment))?.spec?.replicas).toBe(replicas);
    expect((await fx.deployment(done.stable!.deployment))?.spec?.replicas).toBe(0);
  });

  it('failing background analysis: weight 0 at once, canary removed, stable untouched', async () => {
    f = await releaseFixture(`cb-${router.name.slice(0, 4)}`, {
      replicas,
      analysis: {
        templates: [
          {
            name: 'errors',
            metrics: [
              {
                name: 'error-rate',
                initialDelay: '2s',
                failureCondition: 'result > 0',
                provider: { web: { url: analysisUrl, jsonPath: '$.errorRate' } },
              },
            ],
          },
        ],
      },
      canary: {
        steps: [{ setWeight: 30 }, { setCanaryScale: { replicas: 3 } }, { pause: {} }],
        analysis: { templates: [{ templateName: 'errors' }] },
        ...(router.trafficRouting ? { trafficRouting: router.trafficRouting } : {}),
      },
    });
    stop = await router.setup(f);
    invariants = watchInvariants(f);
    await f.push(2);
    const done = await f.waitRelease(`${f.name}-1`);
    expect(done.phase).toBe('RolledBack');
    expect(done.reason).toMatch(/background analysis failed/);
    expect(await router.weight(f, done)).toBe(0);
    expect(await router.clean(f)).toBe(true);
    expect(await f.deployment(done.candidate!.deployment)).toBeNull();
    expect((await f.deployment(done.stable!.deployment))?.spec?.replicas).toBe(replicas);
  });

  it('a push during the canary supersedes it; the new canary proceeds and is promoted', async () => {
    const fx = await start(`cs-${router.name.slice(0, 4)}`, 1);
    await fx.push(2);
    const first = await fx.waitRelease(`${fx.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    await fx.push(3);
    expect((await fx.waitRelease(first.id)).phase).toBe('Superseded');
    const second = await fx.waitRelease(`${fx.name}-2`, (r) => r.phase === 'AwaitingPromotion');
    expect(await fx.deployment(first.candidate!.deployment)).toBeNull();
    expect(await router.weight(fx, second)).toBe(router.expected(50));
    await fx.control('promote');
    const done = await fx.waitRelease(second.id);
    expect(done.phase).toBe('Succeeded');
    expect((await fx.selector('api'))[revisionLabel]).toBe(second.candidate!.revision);
    expect(await router.clean(fx)).toBe(true);
  });

  for (const [where, count, until] of [
    ['during the timed pause', 1, atStep(1)],
    ['during the analysis step', 5, atStep(2)],
    ['at the pause for promote', 1, (r: Release) => r.phase === 'AwaitingPromotion'],
  ] as const) {
    it(`abort ${where}: weight 0 at once, canary scaled down, not deleted, stable untouched`, async () => {
      const fx = await start(`ca-${router.name.slice(0, 4)}`, count);
      await fx.push(2);
      const at = await fx.waitRelease(`${fx.name}-1`, until);
      await fx.control('abort');
      const done = await fx.waitRelease(at.id);
      expect(done.phase).toBe('Aborted');
      expect(await router.weight(fx, done)).toBe(0);
      expect(await router.clean(fx)).toBe(true);
      expect((await fx.selector('api'))[revisionLabel] ?? done.stable!.revision).toBe(done.stable!.revision);
      // The cleanup scaled the canary to zero. It is no revision to undo to, so the sweep may already
      // have removed it as an old revision: either way it serves nothing.
      const ran = done.history.flatMap((h) => h.commands ?? []);
      expect(ran).toContain(`ScaleRevision ${done.candidate!.deployment} replicas=0`);
      expect(ran).not.toContain(`DeleteRevision ${done.candidate!.deployment}`);
      const canaryLeft = await fx.deployment(done.candidate!.deployment);
      if (canaryLeft) expect(canaryLeft.spec?.replicas).toBe(0);
      expect((await fx.deployment(done.stable!.deployment))?.spec?.replicas).toBe(replicas);
    });
  }
});
