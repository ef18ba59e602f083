// The Kubernetes adapter against the local cluster (real API server and controllers, kwok nodes):
// every mutation is idempotent and counted, endpoints are attributed to revisions, and a revision
// that a guard Service selects is never deleted. Each test works in its own namespace.
import { ApiException, AutoscalingV2Api, KubeConfig } from '@kubernetes/client-node';
import { beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../../infra/local/process.ts';
import { KubernetesCluster } from '../../shared/kubernetes/cluster.ts';
import { connect } from '../../shared/kubernetes/connect.ts';
import { isRetriable, toClusterError } from '../../shared/kubernetes/errors.ts';
import { deploymentName, greenTemplate, revisionOf } from '../../shared/kubernetes/revision.ts';
import { annotations, type EndpointCounts, labels, managerName } from '../../shared/kubernetes/types.ts';
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

    await cluster.ensureRevision(spec);
    expect(cluster.callCount).toEqual({ reads: 1, writes: 1 });
    await cluster.ensureRevision(spec);
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
    await cluster.ensureRevision({ ...spec, replicas: 3 });
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
    await cluster.ensureRevision(spec);
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

    await cluster.scalePlainDeployment(ns, 'api', 0);
    let d = await read();
    expect(d.spec?.replicas).toBe(0);
    expect(d.metadata?.annotations?.[annotations.adoptedReplicas]).toBe('3');
    expect(cluster.callCount.writes).toBe(1);

    await cluster.scalePlainDeployment(ns, 'api', 0);
    expect(cluster.callCount.writes).toBe(1);

    // A rollback scales it up, a later adoption down again: the first count stays recorded.
    await cluster.scalePlainDeployment(ns, 'api', 2);
    await cluster.scalePlainDeployment(ns, 'api', 0);
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

    expect(await cluster.hpaReplicas(ns, 'api')).toBeGreaterThanOrEqual(2);
    expect(await cluster.hpaReplicas(ns, 'api-0123456789')).toBeNull();

    await cluster.moveHpa(ns, 'api', 'api-0123456789');
    const moved = await autoscaling.readNamespacedHorizontalPodAutoscaler({ name: 'api', namespace: ns });
    expect(moved.spec?.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'api-0123456789' });
    expect(await cluster.hpaReplicas(ns, 'api')).toBeNull();
    expect(await cluster.hpaReplicas(ns, 'api-0123456789')).not.toBeNull();

    const writes = cluster.callCount.writes;
    await cluster.moveHpa(ns, 'api', 'api-0123456789');
    expect(cluster.callCount.writes).toBe(writes);
  });

  test('deleteRevision refuses while a guard Service selects the revision and succeeds after', async (ctx) => {
    const ns = await testNamespace(ctx, kube, 'cl-delete');
    const cluster = new KubernetesCluster(kubeConfig);
    const spec = revisionSpec(ns, 'api', appTemplate('api'), 1);
    const name = deploymentName('api', spec.revision);
    await cluster.ensureRevision(spec);
    await kube.core.createNamespacedService({
      namespace: ns,
      body: service('active', { [labels.name]: 'api', [labels.revision]: spec.revision }),
    });
    // A Service still selecting by the user's own label (adoption not finished) also guards.
    await kube.core.createNamespacedService({ namespace: ns, body: service('legacy', { app: 'api' }) });

    await expect(cluster.deleteRevision(ns, name, ['active', 'missing'])).rejects.toMatchObject({
      kind: 'unsafe',
      message: expect.stringContaining('Service "active" still selects it'),
    });
    await expect(cluster.deleteRevision(ns, name, ['legacy'])).rejects.toMatchObject({ kind: 'unsafe' });
    expect((await cluster.revisionStatus(ns, name)).exists).toBe(true);

    await cluster.selectRevision(ns, 'active', 'api', 'bbbbbbbbbb');
    await cluster.deleteRevision(ns, name, ['active', 'missing']);
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
    await cluster.deleteRevision(ns, name, ['active']);
    expect(cluster.callCount.writes).toBe(writes);

    // Never a Deployment Switchyard does not own.
    await kube.apps.createNamespacedDeployment({ namespace: ns, body: plainDeployment('api', 1) });
    await expect(cluster.deleteRevision(ns, 'api', [])).rejects.toMatchObject({ kind: 'unsafe' });
  });

  test('snapshot finds the plain Deployment, the revisions by label and a missing Service as null', async (ctx) => {
    const ns = await testNamespace(ctx, kube, 'cl-snapshot');
    const cluster = new KubernetesCluster(kubeConfig);
    await kube.apps.createNamespacedDeployment({ namespace: ns, body: plainDeployment('api', 2) });
    await kube.core.createNamespacedService({ namespace: ns, body: service('api', { app: 'api' }) });
    const blue = revisionSpec(ns, 'api', appTemplate('api', appImage(1)), 2);
    const green = revisionSpec(ns, 'api', appTemplate('api', appImage(2)), 1);
    await cluster.ensureRevision(blue);
    await cluster.ensureRevision(green);
    // Another workload's revision in the same namespace is not this workload's.
    await cluster.ensureRevision(revisionSpec(ns, 'web', appTemplate('web'), 1));

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
      expect(isRetriable(err)).toBe(retriable);
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
    expect(isRetriable(err)).toBe(true);
    expect(cluster.callCount).toEqual({ reads: 1, writes: 0 });
  });
});
