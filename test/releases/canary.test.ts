// Canary releases end to end through the real functions: weights set and read back through the
// Gateway API router (a test stands in for the gateway controller) and the replica-ratio router,
// pauses, a manual promote, abort, and promotion returning every route to 100/0.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { Release } from '../../shared/engine/release.ts';
import { httpRouteApi } from '../../shared/routers/gateway-httproute/index.ts';
import { type Fixture, type FixtureOptions, releaseFixture } from '../support/release.ts';

let f: Fixture | undefined;
let stopController: (() => void) | undefined;

afterEach(async () => {
  stopController?.();
  stopController = undefined;
  await f?.close();
  f = undefined;
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
    const canaryRev = first.green!.revision;
    expect((await fx.selector('api-canary'))[revisionLabel]).toBe(canaryRev);
    expect(weights(await routeOf(fx))).toEqual(['api=90,api-canary=10']);
    expect((await fx.selector('api'))[revisionLabel]).toBe(first.blue!.revision);

    const paused = await fx.waitRelease(first.id, (r) => r.phase === 'AwaitingPromotion');
    expect(paused.canary).toMatchObject({ step: 3, weight: 50 });
    expect(weights(await routeOf(fx))).toEqual(['api=50,api-canary=50']);
    expect((await fx.deployment(first.green!.deployment))?.spec?.replicas).toBe(2);
    const pause = paused.history.find((h) => h.reason === 'weight 50 in force');
    const tenAt = paused.history.find((h) => h.reason === 'weight 10 in force')!.at;
    expect(pause!.at - tenAt).toBeGreaterThanOrEqual(2000);

    await fx.control('promote');
    const done = await fx.waitRelease(first.id);
    expect(done.phase).toBe('Succeeded');
    expect((await fx.selector('api'))[revisionLabel]).toBe(canaryRev);
    expect(weights(await routeOf(fx))).toEqual(['api=100']);
    expect((await fx.deployment(first.blue!.deployment))?.spec?.replicas).toBe(0);
    expect((await fx.deployment(first.green!.deployment))?.spec?.replicas).toBe(3);
  });

  it('abort at the pause: weight 0 at once, canary removed, stable untouched', async () => {
    const fx = await gatewayFixture('can-abort', {
      canary: { steps, trafficRouting: { gatewayAPI: { httpRoute: 'api' } } },
    });
    await fx.push(2);
    const paused = await fx.waitRelease(`${fx.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    await fx.control('abort');
    const done = await fx.waitRelease(paused.id);
    expect(done.phase).toBe('Aborted');
    expect(weights(await routeOf(fx))).toEqual(['api=100']);
    expect((await fx.selector('api'))[revisionLabel]).toBe(paused.blue!.revision);
    expect((await fx.deployment(paused.blue!.deployment))?.spec?.replicas).toBe(3);
    expect(await fx.deployment(paused.green!.deployment)).toBeNull();
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
    expect((await fx.deployment(paused.green!.deployment))?.spec?.replicas).toBe(2);
    expect((await fx.deployment(paused.blue!.deployment))?.spec?.replicas).toBe(2);
    expect(paused.canary?.inForce?.weight).toBe(50);

    await fx.control('promote');
    const done = await fx.waitRelease(paused.id);
    expect(done.phase).toBe('Succeeded');
    expect((await fx.selector('api'))[revisionLabel]).toBe(paused.green!.revision);
    expect((await fx.deployment(paused.green!.deployment))?.spec?.replicas).toBe(4);
    expect((await fx.deployment(paused.blue!.deployment))?.spec?.replicas).toBe(0);
  });
});
