// Canary releases end to end through the real functions: weights set and read back through the
// Gateway API router (a test stands in for the gateway controller) and the replica-ratio router,
// pauses, a manual promote, abort, and promotion returning every route to 100/0.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CustomObjectsApi, NetworkingV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { Release } from '../../shared/engine/release.ts';
import { httpRouteApi } from '../../shared/routers/gateway-httproute/index.ts';
import { type InvariantChecker, watchInvariants } from '../support/invariants.ts';
import { createStableIngress } from '../support/kube-fixtures.ts';
import { type Fixture, type FixtureOptions, releaseFixture } from '../support/release.ts';

let f: Fixture | undefined;
let stopController: (() => void) | undefined;
let invariants: InvariantChecker | undefined;

afterEach(async () => {
  const result = await invariants?.stop();
  invariants = undefined;
  stopController?.();
  stopController = undefined;
  await f?.close();
  f = undefined;
  expect(result?.violations ?? []).toEqual([]);
});

const revisionLabel = 'switchyard.dev/revision';

interface Route {
  metadata: { generation: number };
  spec: { rules: { name?: string; backendRefs: { name: string; weight?: number }[] }[] };
}

/** Creates the HTTPRoute and stands in for the gateway controller: Accepted for every generation. */
async function gatewayFixture(prefix: string, opts: FixtureOptions): Promise<Fixture> {
  const fx = await releaseFixture(prefix, opts);
  const api = fx.kube.kubeConfig.makeApiClient(CustomObjectsApi);
  const ref = { ...httpRouteApi, namespace: fx.namespace };
  await api.createNamespacedCustomObject({
    ...ref,
    body: {
      apiVersion: `${httpRouteApi.group}/${httpRouteApi.version}`,
      kind: 'HTTPRoute',
      metadata: { name: 'api' },
      spec: {
        parentRefs: [{ name: 'external' }],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
            backendRefs: [{ name: 'api', port: 80 }],
          },
        ],
      },
    },
  });
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const route = (await api.getNamespacedCustomObject({ ...ref, name: 'api' })) as Route & {
          status?: unknown;
        };
        const generation = route.metadata.generation;
        const status = route.status as
          | { parents?: { conditions?: { observedGeneration?: number }[] }[] }
          | undefined;
        if (status?.parents?.[0]?.conditions?.[0]?.observedGeneration !== generation) {
          await api.replaceNamespacedCustomObjectStatus({
            ...ref,
            name: 'api',
            body: {
              ...route,
              status: {
                parents: [
                  {
                    parentRef: { name: 'external' },
                    controllerName: 'example.com/test-gateway',
                    conditions: [
                      {
                        type: 'Accepted',
                        status: 'True',
                        reason: 'Accepted',
                        message: 'test stand-in',
                        observedGeneration: generation,
                        lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
                      },
                    ],
                  },
                ],
              },
            },
          });
        }
      } catch {
        // the route may be changing under us; look again
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
  stopController = () => {
    running = false;
    void loop;
  };
  f = fx;
  // The canary's share of the weighted rule, as the HTTPRoute says (header rules aside).
  invariants = watchInvariants(fx, 'api', 150, async () => {
    const route = await routeOf(fx);
    const rule = route.spec.rules.find((r) => !r.name?.startsWith('switchyard-'));
    const refs = rule?.backendRefs ?? [];
    const all = refs.reduce((a, b) => a + (b.weight ?? 1), 0);
    const canary = refs.filter((b) => b.name === 'api-canary').reduce((a, b) => a + (b.weight ?? 1), 0);
    return all ? (100 * canary) / all : 0;
  });
  return fx;
}

async function routeOf(fx: Fixture): Promise<Route> {
  const api = fx.kube.kubeConfig.makeApiClient(CustomObjectsApi);
  return (await api.getNamespacedCustomObject({
    ...httpRouteApi,
    namespace: fx.namespace,
    name: 'api',
  })) as Route;
}

const weights = (r: Route) =>
  r.spec.rules.map((rule) => rule.backendRefs.map((b) => `${b.name}=${b.weight ?? 1}`).join(','));

const at =
  (step: number, phase: Release['phase'] = 'Progressing') =>
  (r: Release) =>
    r.phase === phase && (r.canary?.step ?? -1) >= step;

describe('canary through the Gateway API router', () => {
  const steps = [{ setWeight: 10 }, { pause: { duration: 2 } }, { setWeight: 50 }, { pause: {} }];

  it('setWeight 10, pause 2 s, setWeight 50, pause until promote, then stable takes the new revision', async () => {
    const fx = await gatewayFixture('can-gw', {
      canary: { steps, trafficRouting: { gatewayAPI: { httpRoute: 'api' } } },
    });
    await fx.push(2);
    const first = await fx.waitRelease(`${fx.name}-1`, at(1));
    const canaryRev = first.candidate!.revision;
    expect((await fx.selector('api-canary'))[revisionLabel]).toBe(canaryRev);
    expect(weights(await routeOf(fx))).toEqual(['api=90,api-canary=10']);
    expect((await fx.selector('api'))[revisionLabel]).toBe(first.stable!.revision);

    const paused = await fx.waitRelease(first.id, (r) => r.phase === 'AwaitingPromotion');
    expect(paused.canary).toMatchObject({ step: 3, weight: 50 });
    expect(weights(await routeOf(fx))).toEqual(['api=50,api-canary=50']);
    expect((await fx.deployment(first.candidate!.deployment))?.spec?.replicas).toBe(2);
    const pause = paused.history.find((h) => h.reason === 'weight 50 in force');
    const tenAt = paused.history.find((h) => h.reason === 'weight 10 in force')!.at;
    expect(pause!.at - tenAt).toBeGreaterThanOrEqual(2000);

    await fx.control('promote');
    const done = await fx.waitRelease(first.id);
    expect(done.phase).toBe('Succeeded');
    expect((await fx.selector('api'))[revisionLabel]).toBe(canaryRev);
    expect(weights(await routeOf(fx))).toEqual(['api=100']);
    expect((await fx.deployment(first.stable!.deployment))?.spec?.replicas).toBe(0);
    expect((await fx.deployment(first.candidate!.deployment))?.spec?.replicas).toBe(3);
  });

  it('abort at the pause: weight 0 at once, canary scaled down, not deleted, stable untouched', async () => {
    const fx = await gatewayFixture('can-abort', {
      canary: { steps, trafficRouting: { gatewayAPI: { httpRoute: 'api' } } },
    });
    await fx.push(2);
    const paused = await fx.waitRelease(`${fx.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    await fx.control('abort');
    const done = await fx.waitRelease(paused.id);
    expect(done.phase).toBe('Aborted');
    expect(weights(await routeOf(fx))).toEqual(['api=100']);
    expect((await fx.selector('api'))[revisionLabel]).toBe(paused.stable!.revision);
    expect((await fx.deployment(paused.stable!.deployment))?.spec?.replicas).toBe(3);
    // The cleanup scaled the canary to zero (the sweep may have collected it since, as an old revision).
    const ran = done.history.flatMap((h) => h.commands ?? []);
    expect(ran).toContain(`ScaleRevision ${paused.candidate!.deployment} replicas=0`);
    expect(ran).not.toContain(`DeleteRevision ${paused.candidate!.deployment}`);
    const canaryLeft = await fx.deployment(paused.candidate!.deployment);
    if (canaryLeft) expect(canaryLeft.spec?.replicas).toBe(0);
  });
});

describe('canary without a traffic router (replica ratio)', () => {
  it('setWeight 50 splits replicas behind the stable Service; promote ends on the new revision alone', async () => {
    const fx = await releaseFixture('can-none', {
      replicas: 4,
      canary: { steps: [{ setWeight: 50 }, { pause: {} }] },
    });
    f = fx;
    await fx.push(2);
    const paused = await fx.waitRelease(`${fx.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    expect(await fx.selector('api')).toEqual({ 'app.kubernetes.io/name': 'api' });
    expect((await fx.deployment(paused.candidate!.deployment))?.spec?.replicas).toBe(2);
    expect((await fx.deployment(paused.stable!.deployment))?.spec?.replicas).toBe(2);
    expect(paused.canary?.inForce?.weight).toBe(50);

    await fx.control('promote');
    const done = await fx.waitRelease(paused.id);
    expect(done.phase).toBe('Succeeded');
    expect((await fx.selector('api'))[revisionLabel]).toBe(paused.candidate!.revision);
    expect((await fx.deployment(paused.candidate!.deployment))?.spec?.replicas).toBe(4);
    expect((await fx.deployment(paused.stable!.deployment))?.spec?.replicas).toBe(0);
  });
});

describe('canary: more steps, analysis, supersede', () => {
  it('nginx: a header route and 20% on a canary Ingress, then promote --full', async () => {
    const fx = await releaseFixture('can-nginx', {
      canary: {
        steps: [
          {
            setHeaderRoute: {
              name: 'testers',
              match: [{ headerName: 'x-canary', headerValue: { exact: 'always' } }],
            },
          },
          { setWeight: 20 },
          { pause: {} },
          { setWeight: 60 },
        ],
        trafficRouting: { nginx: { stableIngress: 'api' } },
      },
    });
    f = fx;
    const networking = fx.kube.kubeConfig.makeApiClient(NetworkingV1Api);
    await createStableIngress(fx.kube, fx.namespace);
    await fx.push(2);
    const paused = await fx.waitRelease(`${fx.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    const canaryIngress = await networking.readNamespacedIngress({
      name: 'api-canary',
      namespace: fx.namespace,
    });
    expect(canaryIngress.metadata?.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/canary': 'true',
      'nginx.ingress.kubernetes.io/canary-weight': '20',
      'nginx.ingress.kubernetes.io/canary-by-header': 'x-canary',
      'nginx.ingress.kubernetes.io/canary-by-header-value': 'always',
    });
    expect(canaryIngress.spec?.rules?.[0]?.http?.paths[0]?.backend.service?.name).toBe('api-canary');
    expect(paused.canary?.inForce).toMatchObject({
      weight: 20,
      accepted: true,
      headerRoute: { name: 'testers' },
    });

    await fx.control('promote', { full: true });
    const done = await fx.waitRelease(paused.id);
    expect(done.phase).toBe('Succeeded');
    expect(done.canary?.step).toBe(2);
    await expect(
      networking.readNamespacedIngress({ name: 'api-canary', namespace: fx.namespace }),
    ).rejects.toMatchObject({ code: 404 });
    expect((await fx.selector('api'))[revisionLabel]).toBe(paused.candidate!.revision);
  });

  it('failing background analysis: weight 0 at once, canary removed, stable untouched', async () => {
    const server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"errorRate":0.5}'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const fx = await gatewayFixture('can-bga', {
        analysis: {
          templates: [
            {
              name: 'errors',
              metrics: [
                {
                  name: 'error-rate',
                  initialDelay: '3s',
                  successCondition: 'result < 0.05',
                  provider: { web: { url, jsonPath: '$.errorRate' } },
                },
              ],
            },
          ],
        },
        canary: {
          steps: [{ setWeight: 30 }, { pause: {} }],
          analysis: { templates: [{ templateName: 'errors' }] },
          trafficRouting: { gatewayAPI: { httpRoute: 'api' } },
        },
      });
      await fx.push(2);
      const done = await fx.waitRelease(`${fx.name}-1`);
      expect(done.phase).toBe('RolledBack');
      expect(done.reason).toMatch(/background analysis failed/);
      expect(done.canary?.background?.metrics[0]?.measurements[0]?.value).toBe(0.5);
      expect(weights(await routeOf(fx))).toEqual(['api=100']);
      expect((await fx.selector('api'))[revisionLabel]).toBe(done.stable!.revision);
      expect(await fx.deployment(done.candidate!.deployment)).toBeNull();
      expect((await fx.deployment(done.stable!.deployment))?.spec?.replicas).toBe(3);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a new push during a canary supersedes it: routes back to stable, its canary removed, the new one proceeds', async () => {
    const fx = await gatewayFixture('can-sup', {
      canary: {
        steps: [{ setWeight: 50 }, { pause: {} }],
        trafficRouting: { gatewayAPI: { httpRoute: 'api' } },
      },
    });
    await fx.push(2);
    const first = await fx.waitRelease(`${fx.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    expect(weights(await routeOf(fx))).toEqual(['api=50,api-canary=50']);
    await fx.push(3);
    const old = await fx.waitRelease(first.id);
    expect(old.phase).toBe('Superseded');
    const second = await fx.waitRelease(`${fx.name}-2`, (r) => r.phase === 'AwaitingPromotion');
    expect(await fx.deployment(first.candidate!.deployment)).toBeNull();
    expect((await fx.selector('api-canary'))[revisionLabel]).toBe(second.candidate!.revision);
    expect(weights(await routeOf(fx))).toEqual(['api=50,api-canary=50']);
    await fx.control('promote');
    expect((await fx.waitRelease(second.id)).phase).toBe('Succeeded');
    expect((await fx.selector('api'))[revisionLabel]).toBe(second.candidate!.revision);
  });
});
