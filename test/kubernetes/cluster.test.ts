// The Kubernetes adapter against the local cluster (real API server and controllers, kwok nodes):
// every mutation is idempotent and counted, endpoints are attributed to revisions, and a revision
// that a checked Service serves (the target's own, or one a live HTTPRoute or Ingress sends traffic
// to) is never scaled to zero or deleted. Each test works in its own namespace.
import {
  ApiException,
  AutoscalingV2Api,
  CustomObjectsApi,
  KubeConfig,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Ingress,
} from '@kubernetes/client-node';
import { beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../../infra/local/process.ts';
import { retriability } from '../../shared/errors.ts';
import { KubernetesCluster } from '../../shared/kubernetes/cluster.ts';
import { connect } from '../../shared/kubernetes/connect.ts';
import { toClusterError } from '../../shared/kubernetes/errors.ts';
import { httpRouteApi, nginxAnnotations } from '../../shared/kubernetes/guard.ts';
import { deploymentName, greenTemplate, revisionOf } from '../../shared/kubernetes/revision.ts';
import {
  annotations,
  type EndpointCounts,
  labels,
  managerName,
  type RouteObject,
  type ServingGuard,
} from '../../shared/kubernetes/types.ts';
import { isNotFound, type KubeClients, kubeClients, waitForDeploymentAvailable } from '../support/kube.ts';
import {
  appImage,
  appRepository,
  appTemplate,
  hpa,
  plainDeployment,
  revisionSpec,
  service,
  testNamespace,
} from '../support/kube-fixtures.ts';
import { stack } from '../support/stack.ts';

let kube: KubeClients;
let kubeConfig: KubeConfig;

beforeAll(async () => {
  kube = kubeClients(stack().kubeconfig);
  // Through connect(), as the engine does for a target whose cluster is a kubeconfig context.
  kubeConfig = await connect({ context: kube.kubeConfig.getCurrentContext() }, stack().kubeconfig);
});

/** Creating revisions scales nothing down: nothing for the serving guard to check. */
const unguarded: ServingGuard = { services: [], routes: [] };

/** The serving guard over these Services and route objects. */
function guarding(...services: string[]): ServingGuard {
  return { services, routes: [] };
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * A namespace with revision R of `api` (one ready pod), Service `active` moved off it (it selects
 * another revision), and Service `direct`, which no target names, selecting R: only a route reaches R.
 */
async function routedRevision(
  ctx: Parameters<typeof testNamespace>[0],
  prefix: string,
): Promise<{ ns: string; cluster: KubernetesCluster; name: string }> {
  const ns = await testNamespace(ctx, kube, prefix);
  const cluster = new KubernetesCluster(kubeConfig);
  const spec = revisionSpec(ns, 'api', appTemplate('api'), 1);
  await cluster.ensureRevision(spec, unguarded);
  await kube.core.createNamespacedService({
    namespace: ns,
    body: service('active', { [labels.name]: 'api', [labels.revision]: 'bbbbbbbbbb' }),
  });
  await kube.core.createNamespacedService({
    namespace: ns,
    body: service('direct', { [labels.name]: 'api', [labels.revision]: spec.revision }),
  });
  await waitForEndpoints(
    cluster,
    ns,
    'direct',
    (c) => (c.readyByRevision[spec.revision] ?? 0) > 0,
    'Service direct to list the revision',
  );
  return { ns, cluster, name: deploymentName('api', spec.revision) };
}

/** Polls `endpoints()` until `check` holds; returns the counts (or fails with the last ones seen). */
async function waitForEndpoints(
  cluster: KubernetesCluster,
  ns: string,
  svc: string,
  check: (c: EndpointCounts) => boolean,
  what: string,
): Promise<EndpointCounts> {
  let last: EndpointCounts | undefined;
  try {
    return await waitFor(
      async () => {
        last = await cluster.endpoints(ns, svc);
        return check(last) ? last : undefined;
      },
      { timeoutMs: 30_000, what },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
}

describe.concurrent('KubernetesCluster', () => {
  test('ensureRevision creates one Deployment, writes once when repeated, and scales when asked', async (ctx) => {
    const ns = await testNamespace(ctx, kube, 'cl-ensure');
    const cluster = new KubernetesCluster(kubeConfig);
    const spec = revisionSpec(ns, 'api', appTemplate('api'), 1);

    await cluster.ensureRevision(spec, unguarded);
    expect(cluster.callCount).toEqual({ reads: 1, writes: 1 });
    await cluster.ensureRevision(spec, unguarded);
    expect(cluster.callCount).toEqual({ reads: 2, writes: 1 });

    const list = await kube.apps.listNamespacedDeployment({ namespace: ns });
    expect(list.items.map((d) => d.metadata?.name)).toEqual([deploymentName('api', spec.revision)]);
    const d = list.items[0];
    expect(d?.metadata?.labels).toEqual({
      [labels.name]: 'api',
      [labels.revision]: spec.revision,
      [labels.managedBy]: managerName,
    });
    expect(d?.metadata?.annotations?.[annotations.release]).toBe('release-api');

    // Same revision, more replicas (e.g. green sized to the HPA): one more write, a scale.
    await cluster.ensureRevision({ ...spec, replicas: 3 }, unguarded);
    expect(cluster.callCount.writes).toBe(2);
    const scaled = await kube.apps.readNamespacedDeployment({
      name: deploymentName('api', spec.revision),
      namespace: ns,
    });
    expect(scaled.spec?.replicas).toBe(3);
  });

  test('a revision becomes ready and endpoints() counts a shared Service per revision', async (ctx) => {
    const ns = await testNamespace(ctx, kube, 'cl-endpoints');
    const cluster = new KubernetesCluster(kubeConfig);
    await kube.apps.createNamespacedDeployment({ namespace: ns, body: plainDeployment('api', 2) });
    await kube.core.createNamespacedService({ namespace: ns, body: service('api', { app: 'api' }) });
    const plain = await waitForDeploymentAvailable(kube, ns, 'api');

    // The green template is the plain one with a new image: it keeps `app: api`, so the user's
    // Service selects the pods of both.
    const green = greenTemplate(plain.spec!.template, appImage(2), undefined, appRepository);
    const spec = revisionSpec(ns, 'api', green, 1);
    await cluster.ensureRevision(spec, unguarded);
    const name = deploymentName('api', spec.revision);
    const status = await waitFor(
      async () => {
        const s = await cluster.revisionStatus(ns, name);
        return s.ready === 1 && s.available === 1 ? s : undefined;
      },
      { timeoutMs: 30_000, what: `revision ${name} to be ready` },
    );
    expect(status).toMatchObject({ exists: true, desired: 1, progressDeadlineExceeded: false });
    expect(status.images).toEqual({ app: appImage(2), sidecar: 'switchyard.local/sidecar:1' });
    // Built from a template read back from the API (defaults filled in), the revision's own template
    // read back hashes to the same revision: a redelivered or repeated release finds it again.
    const snap = await cluster.snapshot(ns, 'api', ['api']);
    expect(revisionOf(snap.revisions[spec.revision]!.template)).toBe(spec.revision);
    expect(
      revisionOf(greenTemplate(snap.plainDeployment!.template, appImage(2), undefined, appRepository)),
    ).toBe(spec.revision);

    const counts = await waitForEndpoints(
      cluster,
      ns,
      'api',
      (c) => c.readyByRevision[''] === 2 && c.readyByRevision[spec.revision] === 1,
      'Service api to list 2 plain and 1 revision ready endpoints',
    );
    expect(counts).toEqual({
      readyByRevision: { '': 2, [spec.revision]: 1 },
      totalByRevision: { '': 2, [spec.revision]: 1 },
    });

    // After the switch the Service's slices drop the plain pods.
    await cluster.selectRevision(ns, 'api', 'api', spec.revision);
    const after = await waitForEndpoints(
      cluster,
      ns,
      'api',
      (c) => c.totalByRevision[''] === undefined,
      'Service api to list only the revision',
    );
    expect(after).toEqual({
      readyByRevision: { [spec.revision]: 1 },
      totalByRevision: { [spec.revision]: 1 },
    });
  });

  test('selectRevision replaces the whole selector once and is a no-op the second time', async (ctx) => {
    const ns = await testNamespace(ctx, kube, 'cl-select');
    const cluster = new KubernetesCluster(kubeConfig);
    await kube.core.createNamespacedService({
      namespace: ns,
      body: service('api', { app: 'api', tier: 'web' }),
    });

    await cluster.selectRevision(ns, 'api', 'api', 'aaaaaaaaaa');
    expect(cluster.callCount).toEqual({ reads: 1, writes: 1 });
    const svc = await kube.core.readNamespacedService({ name: 'api', namespace: ns });
    expect(svc.spec?.selector).toEqual({ [labels.name]: 'api', [labels.revision]: 'aaaaaaaaaa' });

    await cluster.selectRevision(ns, 'api', 'api', 'aaaaaaaaaa');
    expect(cluster.callCount).toEqual({ reads: 2, writes: 1 });

    await cluster.selectRevision(ns, 'api', 'api', 'bbbbbbbbbb');
    expect(cluster.callCount.writes).toBe(2);
    const switched = await kube.core.readNamespacedService({ name: 'api', namespace: ns });
    expect(switched.spec?.selector).toEqual({ [labels.name]: 'api', [labels.revision]: 'bbbbbbbbbb' });

    await expect(cluster.selectRevision(ns, 'web', 'api', 'aaaaaaaaaa')).rejects.toMatchObject({
      kind: 'not-found',
      message: expect.stringContaining(`Service "web" not found in namespace "${ns}"`),
    });
  });

  test('scalePlainDeployment records the adopted replica count once', async (ctx) => {
    const ns = await testNamespace(ctx, kube, 'cl-adopt');
    const cluster = new KubernetesCluster(kubeConfig);
    await kube.apps.createNamespacedDeployment({ namespace: ns, body: plainDeployment('api', 3) });
    const read = () => kube.apps.readNamespacedDeployment({ name: 'api', namespace: ns });

    await cluster.scalePlainDeployment(ns, 'api', 0, unguarded);
    let d = await read();
    expect(d.spec?.replicas).toBe(0);
    expect(d.metadata?.annotations?.[annotations.adoptedReplicas]).toBe('3');
    expect(cluster.callCount.writes).toBe(1);

    await cluster.scalePlainDeployment(ns, 'api', 0, unguarded);
    expect(cluster.callCount.writes).toBe(1);

    // A rollback scales it up, a later adoption down again: the first count stays recorded.
    await cluster.scalePlainDeployment(ns, 'api', 2, unguarded);
    await cluster.scalePlainDeployment(ns, 'api', 0, unguarded);
    d = await read();
    expect(d.spec?.replicas).toBe(0);
    expect(d.metadata?.annotations?.[annotations.adoptedReplicas]).toBe('3');
    expect(cluster.callCount.writes).toBe(3);
  });

  test('moveHpa points the HPA at the new Deployment, once', async (ctx) => {
    const ns = await testNamespace(ctx, kube, 'cl-hpa');
    const cluster = new KubernetesCluster(kubeConfig);
    await kube.apps.createNamespacedDeployment({ namespace: ns, body: plainDeployment('api', 2) });
    const autoscaling = kube.kubeConfig.makeApiClient(AutoscalingV2Api);
    await autoscaling.createNamespacedHorizontalPodAutoscaler({
      namespace: ns,
      body: hpa('api', 'api', 2, 5),
    });

    await cluster.moveHpa(ns, 'api', 'api-0123456789');
    const moved = await autoscaling.readNamespacedHorizontalPodAutoscaler({ name: 'api', namespace: ns });
    expect(moved.spec?.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'api-0123456789' });

    const writes = cluster.callCount.writes;
    await cluster.moveHpa(ns, 'api', 'api-0123456789');
    expect(cluster.callCount.writes).toBe(writes);
  });

  test('the serving guard: no scale to zero or delete while a Service selects a revision or lists its endpoints', async (ctx) => {
    const ns = await testNamespace(ctx, kube, 'cl-delete');
    const cluster = new KubernetesCluster(kubeConfig);
    const spec = revisionSpec(ns, 'api', appTemplate('api'), 1);
    const name = deploymentName('api', spec.revision);
    await cluster.ensureRevision(spec, unguarded);
    await kube.core.createNamespacedService({
      namespace: ns,
      body: service('active', { [labels.name]: 'api', [labels.revision]: spec.revision }),
    });
    // A Service selecting by the user's own label (adoption not finished) also guards.
    await kube.core.createNamespacedService({ namespace: ns, body: service('legacy', { app: 'api' }) });
    await waitFor(
      async () => ((await cluster.endpoints(ns, 'legacy')).readyByRevision[spec.revision] ?? 0) > 0,
      {
        timeoutMs: 30_000,
        what: 'the legacy Service to list the revision',
      },
    );

    await expect(cluster.scaleRevision(ns, name, 0, guarding('active', 'missing'))).rejects.toMatchObject({
      kind: 'in-use',
      message: expect.stringContaining('Service "active" selects it'),
    });
    await expect(cluster.scaleRevision(ns, name, 0, guarding('legacy'))).rejects.toMatchObject({
      kind: 'in-use',
      message: expect.stringContaining('no other ready endpoint'),
    });
    await expect(cluster.deleteRevision(ns, name, unguarded)).rejects.toMatchObject({
      kind: 'in-use',
      message: expect.stringContaining('it still has 1 replicas'),
    });
    // A resize that keeps replicas is not a removal.
    await cluster.scaleRevision(ns, name, 2, guarding('active', 'legacy'));
    expect((await cluster.revisionStatus(ns, name)).desired).toBe(2);

    // Switched away: refused until the active Service's EndpointSlices no longer list the pods.
    await kube.core.deleteNamespacedService({ name: 'legacy', namespace: ns });
    await cluster.selectRevision(ns, 'active', 'api', 'bbbbbbbbbb');
    await waitFor(
      async () => {
        try {
          await cluster.scaleRevision(ns, name, 0, guarding('active', 'missing'));
          return true;
        } catch (err) {
          expect(err).toMatchObject({ kind: 'in-use', message: expect.stringContaining('still lists') });
          return false;
        }
      },
      { timeoutMs: 30_000, what: 'the scale-down to pass the guard once drained' },
    );
    await cluster.deleteRevision(ns, name, guarding('active', 'missing'));
    await waitFor(
      async () => {
        try {
          await kube.apps.readNamespacedDeployment({ name, namespace: ns });
          return false;
        } catch (err) {
          if (isNotFound(err)) return true;
          throw err;
        }
      },
      { timeoutMs: 30_000, what: `Deployment ${name} to be gone` },
    );
    expect((await cluster.revisionStatus(ns, name)).exists).toBe(false);
    // Gone already: success, no write.
    const writes = cluster.callCount.writes;
    await cluster.deleteRevision(ns, name, guarding('active'));
    expect(cluster.callCount.writes).toBe(writes);

    // Never a Deployment Switchyard does not own.
    await kube.apps.createNamespacedDeployment({ namespace: ns, body: plainDeployment('api', 1) });
    await expect(cluster.deleteRevision(ns, 'api', unguarded)).rejects.toMatchObject({ kind: 'unsafe' });
  });

  test('the serving guard reads the HTTPRoute: a backendRef with weight > 0 to a Service that serves the revision keeps it up', async (ctx) => {
    const { ns, cluster, name } = await routedRevision(ctx, 'cl-guard-route');
    const routes = kube.kubeConfig.makeApiClient(CustomObjectsApi);
    const rules = (directWeight: number) => [
      { backendRefs: [{ name: 'active', port: 80, weight: 100 }] },
      {
        matches: [{ path: { type: 'PathPrefix', value: '/direct' } }],
        backendRefs: [{ name: 'direct', port: 80, weight: directWeight }],
      },
    ];
    await routes.createNamespacedCustomObject({
      ...httpRouteApi,
      namespace: ns,
      body: {
        apiVersion: `${httpRouteApi.group}/${httpRouteApi.version}`,
        kind: 'HTTPRoute',
        metadata: { name: 'web' },
        spec: { parentRefs: [{ name: 'external' }], rules: rules(1) },
      },
    });
    const setWeight = (w: number) =>
      routes.patchNamespacedCustomObject(
        { ...httpRouteApi, namespace: ns, name: 'web', body: { spec: { rules: rules(w) } } },
        mergePatch,
      );
    // A route object that does not exist is no reference.
    const httpRoutes: RouteObject[] = [
      { kind: 'HTTPRoute', name: 'web' },
      { kind: 'HTTPRoute', name: 'absent' },
    ];
    const guard: ServingGuard = { services: ['active'], routes: httpRoutes };

    // The target's own Service has moved off the revision, but the route still sends to `direct`.
    await expect(cluster.scaleRevision(ns, name, 0, guard)).rejects.toMatchObject({
      name: 'ServingRefusal',
      kind: 'in-use',
      service: 'direct',
      routes: ['HTTPRoute "web"'],
      message: expect.stringMatching(
        /Service "direct" selects it .*traffic reaches that Service through HTTPRoute "web" \(rule 1, weight 1\)/,
      ),
    });
    expect((await cluster.revisionStatus(ns, name)).desired).toBe(1);

    // At weight 0 the route sends `direct` nothing: the scale-down passes.
    await setWeight(0);
    await cluster.scaleRevision(ns, name, 0, guard);
    expect((await cluster.revisionStatus(ns, name)).desired).toBe(0);

    // Weight again: no delete while `direct` still selects the revision.
    await setWeight(5);
    await expect(cluster.deleteRevision(ns, name, guard)).rejects.toMatchObject({
      kind: 'in-use',
      message: expect.stringContaining('HTTPRoute "web" (rule 1, weight 5)'),
    });
    // `direct` re-pointed at another revision (and drained): routed to, but no longer serving it.
    await cluster.selectRevision(ns, 'direct', 'api', 'bbbbbbbbbb');
    await waitFor(
      async () => {
        try {
          await cluster.deleteRevision(ns, name, guard);
          return true;
        } catch (err) {
          expect(err).toMatchObject({ kind: 'in-use', message: expect.stringContaining('still lists') });
          return false;
        }
      },
      { timeoutMs: 30_000, what: 'the delete to pass the guard once direct is drained' },
    );
    await waitFor(async () => !(await cluster.revisionStatus(ns, name)).exists, {
      timeoutMs: 30_000,
      what: `Deployment ${name} to be gone`,
    });
  });

  test('the serving guard reads the Ingresses: a canary Ingress with weight or a cookie rule, and any plain Ingress, keep the revision up', async (ctx) => {
    const { ns, cluster, name } = await routedRevision(ctx, 'cl-guard-ingress');
    const net = kube.kubeConfig.makeApiClient(NetworkingV1Api);
    const ingress = (ingressName: string, backends: Record<string, string>, notes = {}): V1Ingress => ({
      metadata: { name: ingressName, annotations: notes },
      spec: {
        ingressClassName: 'nginx',
        rules: [
          {
            host: 'shop.example.com',
            http: {
              paths: Object.entries(backends).map(([path, backend]) => ({
                path,
                pathType: 'Prefix',
                backend: { service: { name: backend, port: { number: 80 } } },
              })),
            },
          },
        ],
      },
    });
    await net.createNamespacedIngress({ namespace: ns, body: ingress('shop', { '/': 'active' }) });
    await net.createNamespacedIngress({
      namespace: ns,
      body: ingress(
        'shop-canary',
        { '/': 'direct' },
        { [nginxAnnotations.canary]: 'true', [nginxAnnotations.weight]: '20' },
      ),
    });
    const annotate = (ingressName: string, notes: Record<string, string | null>) =>
      net.patchNamespacedIngress(
        { namespace: ns, name: ingressName, body: { metadata: { annotations: notes } } },
        mergePatch,
      );
    const guard: ServingGuard = {
      services: ['active'],
      routes: [
        { kind: 'Ingress', name: 'shop' },
        { kind: 'Ingress', name: 'shop-canary' },
      ],
    };

    await expect(cluster.scaleRevision(ns, name, 0, guard)).rejects.toMatchObject({
      kind: 'in-use',
      service: 'direct',
      routes: ['canary Ingress "shop-canary"'],
      message: expect.stringContaining(
        'traffic reaches that Service through canary Ingress "shop-canary" (shop.example.com/, canary-weight 20)',
      ),
    });
    // Weight 0, but a cookie rule still sends requests to the canary.
    await annotate('shop-canary', {
      [nginxAnnotations.weight]: '0',
      [nginxAnnotations.byCookie]: 'canary',
    });
    await expect(cluster.scaleRevision(ns, name, 0, guard)).rejects.toMatchObject({
      kind: 'in-use',
      message: expect.stringContaining('canary-by-cookie canary'),
    });
    // Weight 0 and no header or cookie rule: the canary Ingress takes nothing, the scale-down passes.
    await annotate('shop-canary', { [nginxAnnotations.byCookie]: null });
    await cluster.scaleRevision(ns, name, 0, guard);
    expect((await cluster.revisionStatus(ns, name)).desired).toBe(0);

    // A plain Ingress sends every path's traffic, whatever any weight says.
    await net.replaceNamespacedIngress({
      namespace: ns,
      name: 'shop',
      body: ingress('shop', { '/': 'active', '/legacy': 'direct' }),
    });
    await expect(cluster.deleteRevision(ns, name, guard)).rejects.toMatchObject({
      kind: 'in-use',
      routes: ['Ingress "shop"'],
      message: expect.stringContaining('Ingress "shop" (shop.example.com/legacy)'),
    });
    // Gone, it is no reference.
    await net.deleteNamespacedIngress({ namespace: ns, name: 'shop' });
    await cluster.deleteRevision(ns, name, guard);
  });

  test('snapshot finds the plain Deployment, the revisions by label and a missing Service as null', async (ctx) => {
    const ns = await testNamespace(ctx, kube, 'cl-snapshot');
    const cluster = new KubernetesCluster(kubeConfig);
    await kube.apps.createNamespacedDeployment({ namespace: ns, body: plainDeployment('api', 2) });
    await kube.core.createNamespacedService({ namespace: ns, body: service('api', { app: 'api' }) });
    const blue = revisionSpec(ns, 'api', appTemplate('api', appImage(1)), 2);
    const green = revisionSpec(ns, 'api', appTemplate('api', appImage(2)), 1);
    await cluster.ensureRevision(blue, unguarded);
    await cluster.ensureRevision(green, unguarded);
    // Another workload's revision in the same namespace is not this workload's.
    await cluster.ensureRevision(revisionSpec(ns, 'web', appTemplate('web'), 1), unguarded);

    // Counted once both are ready: a revision not ready yet costs one more read (its pods, for why).
    for (const r of [blue, green]) {
      const name = deploymentName('api', r.revision);
      await waitFor(
        async () => {
          const s = await cluster.revisionStatus(ns, name);
          return s.ready === s.desired;
        },
        { timeoutMs: 30_000, what: `revision ${name} to be ready` },
      );
    }
    const before = cluster.callCount;
    const snap = await cluster.snapshot(ns, 'api', ['api', 'api-preview']);
    // One read for the plain Deployment, one list for the revisions, one read per Service.
    expect(cluster.callCount).toEqual({ reads: before.reads + 4, writes: before.writes });

    expect(snap.plainDeployment).toMatchObject({ name: 'api', replicas: 2 });
    expect(snap.plainDeployment?.template.spec?.containers[0]?.image).toBe(appImage(1));
    expect(Object.keys(snap.revisions).sort()).toEqual([blue.revision, green.revision].sort());
    expect(snap.revisions[blue.revision]).toMatchObject({
      name: deploymentName('api', blue.revision),
      revision: blue.revision,
      exists: true,
      desired: 2,
      images: { app: appImage(1) },
    });
    expect(snap.revisions[green.revision]?.template.metadata?.labels?.[labels.revision]).toBe(green.revision);
    expect(snap.services).toEqual({ api: { selector: { app: 'api' } }, 'api-preview': null });
  });
});

describe('cluster errors', () => {
  test('API answers map to kinds, and only conflict and unavailable are retriable', () => {
    const cases: [number, string, boolean][] = [
      [404, 'not-found', false],
      [409, 'conflict', true],
      [403, 'forbidden', false],
      [401, 'forbidden', false],
      [422, 'invalid', false],
      [400, 'invalid', false],
      [429, 'unavailable', true],
      [503, 'unavailable', true],
    ];
    for (const [code, kind, retriable] of cases) {
      const body = JSON.stringify({ kind: 'Status', message: `because ${code}` });
      const err = toClusterError(new ApiException(code, 'x', body, {}), 'reading Service "api"');
      expect(err).toMatchObject({ kind, status: code });
      expect(err.message).toContain(`reading Service "api": because ${code} (HTTP ${code})`);
      expect(retriability(err) === 'retry').toBe(retriable);
    }
  });

  test('an unreachable API server is unavailable (retriable)', async () => {
    const kc = new KubeConfig();
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    kc.loadFromClusterAndUser(
      { name: 'c', server: 'https://127.0.0.1:9', skipTLSVerify: true },
      { name: 'u' },
    );
    const cluster = new KubernetesCluster(kc);
    const err = await cluster.revisionStatus('ns', 'api').catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unavailable' });
    expect(retriability(err)).toBe('retry');
    expect(cluster.callCount).toEqual({ reads: 1, writes: 0 });
  });
});
