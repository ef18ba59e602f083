// The Gateway API router against the local cluster's real HTTPRoute CRD (standard channel, with its
// defaults and validation). No Gateway controller runs: the test stands in for one by writing the
// route's status (Accepted at a generation), so "accepted" is proved both ways.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { KubernetesCluster } from '../../shared/kubernetes/cluster.ts';
import { deploymentName } from '../../shared/kubernetes/revision.ts';
import { labels, type ServingGuard } from '../../shared/kubernetes/types.ts';
import {
  type GatewayHttpRouteConfig,
  type HttpRoute,
  httpRouteApi,
  gatewayHttpRouteRouter as router,
} from '../../shared/routers/gateway-httproute/index.ts';
import type { RouterContext } from '../../shared/routers/router.ts';
import { createTestNamespace, deleteNamespace, type KubeClients, kubeClients } from '../support/kube.ts';
import { appImage, appTemplate, revisionSpec, service } from '../support/kube-fixtures.ts';
import { stack } from '../support/stack.ts';
import { routerContract } from './contract.ts';

let kube: KubeClients;
let routes: CustomObjectsApi;

beforeAll(() => {
  kube = kubeClients(stack().kubeconfig);
  routes = kube.kubeConfig.makeApiClient(CustomObjectsApi);
});

const workload = 'web';
/** Creating revisions scales nothing down: nothing for the serving guard to check. */
const unguarded: ServingGuard = { services: [], routes: [] };
const gateway = 'external';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The backendRef the API server stores for `{name, port: 80, weight}` (group and kind defaulted). */
const ref = (name: string, weight: number) => ({ group: '', kind: 'Service', name, port: 80, weight });
const apiPath = { path: { type: 'PathPrefix', value: '/api' } };
/** The user's second rule, to another backend: Switchyard must never touch it. */
const staticRule = {
  matches: [{ path: { type: 'PathPrefix', value: '/static' } }],
  backendRefs: [{ group: '', kind: 'Service', name: 'static-files', port: 8080, weight: 1 }],
};

/**
 * A namespace with two revisions of `web` (Deployments via the adapter), Services web-stable and
 * web-canary selecting one revision each, and an HTTPRoute `web` whose /api rule sends to web-stable
 * and whose /static rule sends elsewhere.
 */
async function setup(): Promise<{
  config: GatewayHttpRouteConfig;
  ctx: RouterContext;
  teardown(): Promise<void>;
}> {
  const namespace = await createTestNamespace('gw-route', kube);
  const cluster = new KubernetesCluster(kube.kubeConfig);
  const stable = revisionSpec(namespace, workload, appTemplate(workload, appImage(1)));
  const canary = revisionSpec(namespace, workload, appTemplate(workload, appImage(2)));
  await Promise.all([cluster.ensureRevision(stable, unguarded), cluster.ensureRevision(canary, unguarded)]);
  for (const [name, revision] of [
    ['web-stable', stable.revision],
    ['web-canary', canary.revision],
  ] as const) {
    await kube.core.createNamespacedService({
      namespace,
      body: service(name, { [labels.name]: workload, [labels.revision]: revision }),
    });
  }
  await routes.createNamespacedCustomObject({
    ...httpRouteApi,
    namespace,
    body: {
      apiVersion: `${httpRouteApi.group}/${httpRouteApi.version}`,
      kind: 'HTTPRoute',
      metadata: { name: workload },
      spec: {
        parentRefs: [{ name: gateway }],
        hostnames: ['web.example.com'],
        rules: [
          { matches: [apiPath], backendRefs: [{ name: 'web-stable', port: 80 }] },
          {
            matches: [{ path: { type: 'PathPrefix', value: '/static' } }],
            backendRefs: [{ name: 'static-files', port: 8080 }],
          },
        ],
      },
    },
  });
  const ctx: RouterContext = {
    namespace,
    workload,
    stableService: 'web-stable',
    canaryService: 'web-canary',
    stableRevision: stable.revision,
    canaryRevision: canary.revision,
    stableDeployment: deploymentName(workload, stable.revision),
    canaryDeployment: deploymentName(workload, canary.revision),
    replicas: 1,
    releaseId: `release-${workload}`,
    kubeConfig: kube.kubeConfig,
  };
  return { config: { httpRoute: workload }, ctx, teardown: () => deleteNamespace(namespace, kube) };
}

async function readRoute(ctx: RouterContext): Promise<HttpRoute> {
  return (await routes.getNamespacedCustomObject({
    ...httpRouteApi,
    namespace: ctx.namespace,
    name: workload,
  })) as HttpRoute;
}

/**
 * Stands in for the Gateway controller: writes status.parents with Accepted=`status` observed at the
 * route's current generation (or at `generation`), through the status subresource.
 */
async function writeStatus(
  ctx: RouterContext,
  status: 'True' | 'False' = 'True',
  generation?: number,
): Promise<number> {
  const observed = generation ?? (await readRoute(ctx)).metadata?.generation ?? 0;
  await routes.patchNamespacedCustomObjectStatus(
    {
      ...httpRouteApi,
      namespace: ctx.namespace,
      name: workload,
      body: {
        status: {
          parents: [
            {
              parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: gateway },
              controllerName: 'switchyard.dev/test-stand-in',
              conditions: [
                {
                  type: 'Accepted',
                  status,
                  reason: status === 'True' ? 'Accepted' : 'NotAllowedByListeners',
                  message: status === 'True' ? '' : 'no listener allows routes from this namespace',
                  observedGeneration: observed,
                  lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
                },
              ],
            },
          ],
        },
      },
    },
    mergePatch,
  );
  return observed;
}

routerContract({
  name: 'gateway-httproute',
  router,
  setup,
  settle: (_config, ctx) => writeStatus(ctx).then(() => undefined),
  headerRoutes: true,
  exactWeights: [10, 50, 100],
});

describe('gateway-httproute router', () => {
  it('writes exactly [stable 100-w, canary w] into the weighted rule, once, and leaves other rules alone', async () => {
    const { config, ctx, teardown } = await setup();
    try {
      await router.prepare(config, ctx);
      expect((await readRoute(ctx)).spec?.rules).toEqual([
        { matches: [apiPath], backendRefs: [ref('web-stable', 100), ref('web-canary', 0)] },
        staticRule,
      ]);

      await router.setWeight(config, ctx, 10, null);
      expect((await readRoute(ctx)).spec?.rules).toEqual([
        { matches: [apiPath], backendRefs: [ref('web-stable', 90), ref('web-canary', 10)] },
        staticRule,
      ]);

      await router.setWeight(config, ctx, 50, null);
      const at50 = await readRoute(ctx);
      expect(at50.spec?.rules).toEqual([
        { matches: [apiPath], backendRefs: [ref('web-stable', 50), ref('web-canary', 50)] },
        staticRule,
      ]);
      // Patch only when different: a repeated step leaves the object (and its generation) as it was.
      await router.setWeight(config, ctx, 50, null);
      expect((await readRoute(ctx)).metadata?.resourceVersion).toBe(at50.metadata?.resourceVersion);

      await router.finalize(config, ctx);
      expect((await readRoute(ctx)).spec?.rules).toEqual([
        { matches: [apiPath], backendRefs: [ref('web-stable', 100)] },
        staticRule,
      ]);
    } finally {
      await teardown();
    }
  });

  it('puts a header route first as its own named rule on the weighted path, and removes it again', async () => {
    const { config, ctx, teardown } = await setup();
    try {
      await router.prepare(config, ctx);
      const route = { name: 'Testers', header: { name: 'x-canary', value: 'always' } };
      await router.setWeight(config, ctx, 10, route);
      expect((await readRoute(ctx)).spec?.rules).toEqual([
        {
          name: 'switchyard-header-testers',
          matches: [{ ...apiPath, headers: [{ type: 'Exact', name: 'x-canary', value: 'always' }] }],
          backendRefs: [ref('web-canary', 1)],
        },
        { matches: [apiPath], backendRefs: [ref('web-stable', 90), ref('web-canary', 10)] },
        staticRule,
      ]);
      await writeStatus(ctx);
      expect(await router.observe(config, ctx)).toEqual({
        weight: 10,
        headerRoute: { name: 'testers', header: route.header },
        accepted: true,
      });

      await router.setWeight(config, ctx, 10, null);
      expect((await readRoute(ctx)).spec?.rules).toEqual([
        { matches: [apiPath], backendRefs: [ref('web-stable', 90), ref('web-canary', 10)] },
        staticRule,
      ]);
      expect((await router.observe(config, ctx)).headerRoute).toBeNull();
    } finally {
      await teardown();
    }
  });

  it('reports accepted only when every parent Accepted the current generation', async () => {
    const { config, ctx, teardown } = await setup();
    try {
      await router.prepare(config, ctx);
      // No Gateway has written status yet.
      let s = await router.observe(config, ctx);
      expect(s).toMatchObject({ weight: 0, accepted: false });
      expect(s.message).toContain('status.parents is empty');

      const g1 = await writeStatus(ctx);
      expect(await router.observe(config, ctx)).toEqual({ weight: 0, headerRoute: null, accepted: true });

      // The new weights are in the spec at once, but the status still describes generation g1.
      await router.setWeight(config, ctx, 50, null);
      const g2 = (await readRoute(ctx)).metadata?.generation;
      expect(g2).toBe(g1 + 1);
      s = await router.observe(config, ctx);
      expect(s).toMatchObject({ weight: 50, accepted: false });
      expect(s.message).toContain(`has not observed generation ${g2} yet (saw ${g1})`);

      await writeStatus(ctx);
      expect(await router.observe(config, ctx)).toEqual({ weight: 50, headerRoute: null, accepted: true });

      // A Gateway that refuses the route at the current generation keeps it unaccepted.
      await writeStatus(ctx, 'False');
      s = await router.observe(config, ctx);
      expect(s).toMatchObject({ weight: 50, accepted: false });
      expect(s.message).toContain('did not accept it: NotAllowedByListeners');
    } finally {
      await teardown();
    }
  });

  it('weights only the configured rule, and refuses what it cannot do faithfully', async () => {
    const { config, ctx, teardown } = await setup();
    try {
      // Rule 1 sends to another backend only: splitting it would drop "static-files".
      await expect(router.setWeight({ ...config, rule: 1 }, ctx, 10, null)).rejects.toMatchObject({
        kind: 'invalid',
        message: expect.stringContaining('no backendRef to the stable Service "web-stable"'),
      });
      await expect(router.setWeight({ ...config, rule: 5 }, ctx, 10, null)).rejects.toMatchObject({
        kind: 'invalid',
        message: expect.stringContaining('no rule 5'),
      });
      // An HTTPRoute matches on headers, not on a cookie's value.
      await expect(
        router.setWeight({ ...config, rule: 0 }, ctx, 10, { name: 'beta', cookie: 'canary' }),
      ).rejects.toMatchObject({ kind: 'invalid' });
      await expect(router.setWeight(config, ctx, 101, null)).rejects.toMatchObject({ kind: 'invalid' });
      await expect(router.observe({ httpRoute: 'missing' }, ctx)).rejects.toMatchObject({
        kind: 'not-found',
      });
      await router.finalize({ httpRoute: 'missing' }, ctx); // nothing to restore: success

      await router.setWeight({ ...config, rule: 0 }, ctx, 10, null);
      expect((await readRoute(ctx)).spec?.rules).toEqual([
        { matches: [apiPath], backendRefs: [ref('web-stable', 90), ref('web-canary', 10)] },
        staticRule,
      ]);
    } finally {
      await teardown();
    }
  });
});
