// Fixtures for end-to-end release tests: a workload in its own namespace, its target in Firestore,
// pushes through the real `gcr` topic, waits on release state, and the invariant checker.
import { readFileSync } from 'node:fs';
import type { Firestore } from '@google-cloud/firestore';
import type { V1Deployment } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { waitFor } from '../../infra/local/process.ts';
import { Store } from '../../shared/adapters/store.ts';
import { isTerminal, type Release, type Workload } from '../../shared/engine/release.ts';
import { KubernetesCluster } from '../../shared/kubernetes/cluster.ts';
import type { ControlCommand } from '../../shared/messages.ts';
import { type ReleaseTargetInput, validateReleaseTarget } from '../../shared/target/schema.ts';
import { TargetStore } from '../../shared/target/store.ts';
import { artifactRegistryTopic, topology } from '../../shared/topology.ts';
import { testFirestore, testPubSub } from './clients.ts';
import {
  createTestNamespace,
  deleteNamespace,
  type KubeClients,
  stackKubeClients,
  waitForDeploymentAvailable,
} from './kube.ts';
import { stack, uniqueId } from './stack.ts';

export const digestOf = (n: number | string) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

/** The kubeconfig context of the stack's cluster (targets name it). */
export function stackContext(): string {
  const kc = parse(readFileSync(stack().kubeconfig, 'utf8')) as { 'current-context': string };
  return kc['current-context'];
}

export interface Fixture {
  name: string;
  namespace: string;
  repository: string;
  image(n: number | string): string;
  kube: KubeClients;
  db: Firestore;
  store: Store;
  cluster: KubernetesCluster;
  /** Publishes an Artifact Registry INSERT of `image(n)` tagged `v<n>`. */
  push(n: number | string, opts?: { tag?: string | null }): Promise<string>;
  /** Publishes a control message and returns its request id. */
  control(
    command: ControlCommand,
    opts?: { full?: boolean; release?: string; reason?: string },
  ): Promise<string>;
  workload(): Promise<Workload>;
  release(id: string): Promise<Release | null>;
  /** Waits until the release satisfies `done` (default: a terminal phase), returning it. */
  waitRelease(id: string, done?: (r: Release) => boolean, timeoutMs?: number): Promise<Release>;
  /** Waits for the release started by the n-th push (by number) to exist. */
  waitReleaseNumber(n: number, timeoutMs?: number): Promise<Release>;
  deployment(name: string): Promise<V1Deployment | null>;
  selector(service: string): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export interface FixtureOptions {
  replicas?: number;
  preview?: boolean;
  blueGreen?: Record<string, unknown>;
  progressDeadlineSeconds?: number;
  /** Labels on the plain Deployment's pod template (e.g. a kwok stage). */
  podLabels?: Record<string, string>;
  /** spec.analysis of the target (templates). */
  analysis?: { templates: unknown[] };
  /** A canary strategy instead of blue-green (Services stable `api` and `api-canary` are created). */
  canary?: Record<string, unknown>;
  /** spec.notifications of the target. */
  notifications?: unknown[];
  /** The kubeconfig context the target names (default: the stack's own, with admin rights). */
  context?: string;
}

/** A plain Deployment `api` with Services, and a target for it with zero delays unless told otherwise. */
export async function releaseFixture(prefix: string, opts: FixtureOptions = {}): Promise<Fixture> {
  const kube = stackKubeClients();
  const namespace = await createTestNamespace(prefix, kube);
  const name = uniqueId(prefix).slice(0, 40);
  const repository = `us-docker.pkg.dev/acme/${name}/api`;
  const image = (n: number | string) => `${repository}@${digestOf(n)}`;
  const replicas = opts.replicas ?? 3;
  const labels = { 'app.kubernetes.io/name': 'api' };
  await kube.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'api', labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels: { ...labels, ...opts.podLabels } },
          spec: { containers: [{ name: 'api', image: image(1), ports: [{ containerPort: 8080 }] }] },
        },
      },
    },
  });
  const services = ['api', ...(opts.preview ? ['api-preview'] : []), ...(opts.canary ? ['api-canary'] : [])];
  for (const svc of services) {
    await kube.core.createNamespacedService({
      namespace,
      body: { metadata: { name: svc }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
    });
  }
  const doc: ReleaseTargetInput = {
    apiVersion: 'switchyard.dev/v1alpha1',
    kind: 'ReleaseTarget',
    metadata: { name },
    spec: {
      image: { repository },
      cluster: { context: opts.context ?? stackContext() },
      namespace,
      workload: 'api',
      progressDeadlineSeconds: opts.progressDeadlineSeconds ?? 60,
      strategy: opts.canary
        ? {
            canary: {
              stableService: 'api',
              canaryService: 'api-canary',
              scaleDownDelaySeconds: 0,
              abortScaleDownDelaySeconds: 0,
              ...opts.canary,
            },
          }
        : {
            blueGreen: {
              activeService: 'api',
              ...(opts.preview ? { previewService: 'api-preview' } : {}),
              scaleDownDelaySeconds: 0,
              abortScaleDownDelaySeconds: 0,
              ...opts.blueGreen,
            },
          },
      ...(opts.analysis ? { analysis: opts.analysis } : {}),
      ...(opts.notifications ? { notifications: opts.notifications } : {}),
    } as ReleaseTargetInput['spec'],
  };
  const db = testFirestore(stack().projectId);
  const checked = validateReleaseTarget(doc, 0);
  if ('errors' in checked) throw new Error(`bad test target: ${JSON.stringify(checked.errors)}`);
  await new TargetStore(db).apply([checked.target], 'test');
  const store = new Store(db);
  const pubsub = testPubSub();
  const t = topology();
  const cluster = new KubernetesCluster(kube.kubeConfig);

  // The workload serves before the test starts (the invariant checker samples from the first moment).
  await waitForDeploymentAvailable(kube, namespace, 'api');
  await waitFor(
    async () => {
      const counts = await cluster.endpoints(namespace, 'api');
      return (counts.readyByRevision[''] ?? 0) >= Math.min(replicas, 1);
    },
    { timeoutMs: 30_000, what: 'the api Service to list ready endpoints' },
  );

  const fixture: Fixture = {
    name,
    namespace,
    repository,
    image,
    kube,
    db,
    store,
    cluster,
    async push(n, o = {}) {
      const tag = o.tag === undefined ? `v${n}` : o.tag;
      return pubsub.topic(artifactRegistryTopic).publishMessage({
        json: { action: 'INSERT', digest: image(n), ...(tag ? { tag: `${repository}:${tag}` } : {}) },
      });
    },
    async control(command, o = {}) {
      const requestId = `req-${uniqueId(command)}`;
      await pubsub.topic(t.controlTopic).publishMessage({
        json: { command, target: name, requestedBy: 'test@switchyard', requestId, ...o },
      });
      return requestId;
    },
    workload: () => store.workload(name),
    release: (id) => store.release(id),
    async waitRelease(id, done = (r) => isTerminal(r.phase) && !r.cleanup, timeoutMs = 90_000) {
      let last: Release | null = null;
      try {
        return await waitFor(
          async () => {
            last = await store.release(id);
            return last && done(last) ? last : undefined;
          },
          { timeoutMs, intervalMs: 100, what: `release ${id}` },
        );
      } catch (err) {
        const r = last as Release | null;
        throw new Error(
          `${(err as Error).message}; last seen: ${r ? `${r.phase} (${r.reason ?? ''}) history ${JSON.stringify(r.history.map((h) => [h.to, h.reason]))}` : 'no release'}`,
        );
      }
    },
    waitReleaseNumber: (n, timeoutMs = 30_000) => fixture.waitRelease(`${name}-${n}`, () => true, timeoutMs),
    async deployment(deploymentName) {
      try {
        return await kube.apps.readNamespacedDeployment({ name: deploymentName, namespace });
      } catch {
        return null;
      }
    },
    async selector(service) {
      const svc = await kube.core.readNamespacedService({ name: service, namespace });
      return svc.spec?.selector ?? {};
    },
    async close() {
      await pubsub.close();
      await db.terminate();
      await deleteNamespace(namespace, kube);
    },
  };
  return fixture;
}
