// The replica-ratio router (trafficRouting "none") against the local cluster: real Deployments,
// ReplicaSets and EndpointSlices (kwok pods are Ready at once), so the weight it reports is the one
// kube-proxy would balance over, read back from the stable Service's EndpointSlices.
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/process.ts';
import { KubernetesCluster } from '../../shared/kubernetes/cluster.ts';
import { deploymentName } from '../../shared/kubernetes/revision.ts';
import { labels, type ServingGuard } from '../../shared/kubernetes/types.ts';
import type { RouterContext, RouteState } from '../../shared/routers/router.ts';
import {
  replicaSplit,
  serviceSelectorRouter as router,
  type ServiceSelectorConfig,
} from '../../shared/routers/service-selector/index.ts';
import {
  createTestNamespace,
  deleteNamespace,
  type KubeClients,
  kubeClients,
  waitForDeploymentAvailable,
} from '../support/kube.ts';
import { appImage, appTemplate, revisionSpec, service } from '../support/kube-fixtures.ts';
import { stack } from '../support/stack.ts';
import { routerContract } from './contract.ts';

let kube: KubeClients;

beforeAll(() => {
  kube = kubeClients(stack().kubeconfig);
});

const workload = 'shop';
const replicas = 4;
/** Creating revisions scales nothing down: nothing for the serving guard to check. */
const unguarded: ServingGuard = { services: [], routes: [] };

/**
 * A namespace with the stable revision of `shop` at 4 replicas, all ready, and the canary revision at
 * 0 (both Switchyard revision Deployments), Service shop-stable narrowed to the stable revision and
 * shop-canary to the canary one, as the engine leaves them before a canary's first step.
 */
async function setup(): Promise<{
  config: ServiceSelectorConfig;
  ctx: RouterContext;
  teardown(): Promise<void>;
}> {
  const namespace = await createTestNamespace('svc-selector', kube);
  const cluster = new KubernetesCluster(kube.kubeConfig);
  const stable = revisionSpec(namespace, workload, appTemplate(workload, appImage(1)), replicas);
  const canary = revisionSpec(namespace, workload, appTemplate(workload, appImage(2)), 0);
  await Promise.all([cluster.ensureRevision(stable, unguarded), cluster.ensureRevision(canary, unguarded)]);
  // A canary starts from a serving stable revision (finalize refuses to narrow to one without pods).
  await waitForDeploymentAvailable(kube, namespace, deploymentName(workload, stable.revision));
  for (const [name, revision] of [
    ['shop-stable', stable.revision],
    ['shop-canary', canary.revision],
  ] as const) {
    await kube.core.createNamespacedService({
      namespace,
      body: service(name, { [labels.name]: workload, [labels.revision]: revision }),
    });
  }
  const ctx: RouterContext = {
    namespace,
    workload,
    stableService: 'shop-stable',
    canaryService: 'shop-canary',
    stableRevision: stable.revision,
    canaryRevision: canary.revision,
    stableDeployment: deploymentName(workload, stable.revision),
    canaryDeployment: deploymentName(workload, canary.revision),
    replicas,
    releaseId: `release-${workload}`,
    kubeConfig: kube.kubeConfig,
  };
  return { config: {}, ctx, teardown: () => deleteNamespace(namespace, kube) };
}

routerContract({
  name: 'service-selector',
  router,
  setup,
  headerRoutes: false,
  // With 4 replicas: 1 of 4 and 2 of 4 canary pods.
  exactWeights: [25, 50],
});

async function replicasOf(ctx: RouterContext): Promise<{ stable: number; canary: number }> {
  const [s, c] = await Promise.all(
    [ctx.stableDeployment, ctx.canaryDeployment].map((name) =>
      kube.apps.readNamespacedDeployment({ name, namespace: ctx.namespace }),
    ),
  );
  return { stable: s?.spec?.replicas ?? -1, canary: c?.spec?.replicas ?? -1 };
}

async function selectorOf(ctx: RouterContext, name = ctx.stableService): Promise<Record<string, string>> {
  return (await kube.core.readNamespacedService({ name, namespace: ctx.namespace })).spec?.selector ?? {};
}

/** Waits until observe() says accepted, and returns that state. */
function accepted(ctx: RouterContext): Promise<RouteState> {
  return waitFor(
    async () => {
      const s = await router.observe({}, ctx);
      return s.accepted ? s : undefined;
    },
    { timeoutMs: 30_000, what: 'the replica ratio to be in force' },
  );
}

describe('service-selector router', () => {
  it('splits replicas by ceil(replicas × w / 100), keeping one stable pod below 100 %', () => {
    expect([0, 10, 25, 50, 90, 99, 100].map((w) => replicaSplit(4, w))).toEqual([
      { canary: 0, stable: 4 },
      { canary: 1, stable: 3 },
      { canary: 1, stable: 3 },
      { canary: 2, stable: 2 },
      { canary: 4, stable: 1 },
      { canary: 4, stable: 1 },
      { canary: 4, stable: 0 },
    ]);
  });

  it('widens the selector, scales to the ratio, reports what replicas achieve, and narrows at the end', async () => {
    const { config, ctx, teardown } = await setup();
    try {
      await router.prepare(config, ctx);
      expect(await selectorOf(ctx)).toEqual({ [labels.name]: workload });
      // The canary Service is the user's, untouched.
      expect(await selectorOf(ctx, ctx.canaryService)).toEqual({
        [labels.name]: workload,
        [labels.revision]: ctx.canaryRevision,
      });
      expect(await replicasOf(ctx)).toEqual({ stable: 4, canary: 0 });

      // 10 % cannot be reached with 4 pods: one canary pod is 25 %, and observe says so.
      await router.setWeight(config, ctx, 10, null);
      expect(await replicasOf(ctx)).toEqual({ stable: 3, canary: 1 });
      expect(await accepted(ctx)).toEqual({
        weight: 25,
        headerRoute: null,
        accepted: true,
        message:
          '25% by replica ratio: 1 canary and 3 stable ready endpoints behind Service "shop-stable" ' +
          '(Deployments: canary 1/1 ready, stable 3/3 ready)',
      });

      await router.setWeight(config, ctx, 90, null);
      expect(await replicasOf(ctx)).toEqual({ stable: 1, canary: 4 });
      expect((await accepted(ctx)).weight).toBe(80);

      await router.setWeight(config, ctx, 100, null);
      expect(await replicasOf(ctx)).toEqual({ stable: 0, canary: 4 });
      expect((await accepted(ctx)).weight).toBe(100);

      // An abort at 100 %: the stable revision has no pod, so finalize scales it back up and refuses
      // to narrow the Service to it until it has a ready one (narrowing now would drop all traffic).
      await expect(router.finalize(config, ctx)).rejects.toMatchObject({ kind: 'unavailable' });
      expect(await replicasOf(ctx)).toEqual({ stable: 4, canary: 4 });
      expect(await selectorOf(ctx)).toEqual({ [labels.name]: workload });
      await waitFor(() => router.finalize(config, ctx).then(() => true), {
        timeoutMs: 30_000,
        what: 'finalize to narrow the Service once the stable revision is ready',
      });
      expect(await selectorOf(ctx)).toEqual({
        [labels.name]: workload,
        [labels.revision]: ctx.stableRevision,
      });
      const end = await accepted(ctx);
      expect(end).toMatchObject({ weight: 0, accepted: true });
      expect(end.message).toContain('0 canary and 4 stable ready endpoints');
    } finally {
      await teardown();
    }
  });

  it('after a promotion, finalize narrows the stable Service to the new revision', async () => {
    const { config, ctx, teardown } = await setup();
    try {
      await router.prepare(config, ctx);
      await router.setWeight(config, ctx, 50, null);
      await accepted(ctx);
      const promoted = { ...ctx, stableRevision: ctx.canaryRevision };
      await router.finalize(config, promoted);
      expect(await selectorOf(ctx)).toEqual({
        [labels.name]: workload,
        [labels.revision]: ctx.canaryRevision,
      });
      // The revision that keeps the traffic is scaled to full size; the old one is the engine's to remove.
      expect(await replicasOf(ctx)).toEqual({ stable: 2, canary: 4 });
    } finally {
      await teardown();
    }
  });

  it('refuses header routes and changes nothing', async () => {
    const { config, ctx, teardown } = await setup();
    try {
      await expect(
        router.setWeight(config, ctx, 25, { name: 'testers', header: { name: 'x-canary', value: 'always' } }),
      ).rejects.toMatchObject({
        kind: 'invalid',
        message: expect.stringContaining('cannot be routed by header'),
      });
      expect(await replicasOf(ctx)).toEqual({ stable: 4, canary: 0 });
      expect(await selectorOf(ctx)).toEqual({
        [labels.name]: workload,
        [labels.revision]: ctx.stableRevision,
      });
    } finally {
      await teardown();
    }
  });
});
