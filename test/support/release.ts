// Fixtures for end-to-end release tests: a workload in its own namespace, its target in Firestore,
// pushes through the real `gcr` topic, waits on release state, and the invariant checker.
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Firestore } from '@google-cloud/firestore';
import type { V1Deployment } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { type ClientMessage, publishControl, publishPush } from '../../cli/client.ts';
import { waitFor } from '../../infra/local/process.ts';
import { type RequestRecord, Store } from '../../shared/adapters/store.ts';
import { isTerminal } from '../../shared/engine/phase.ts';
import type { Release, Workload } from '../../shared/engine/release.ts';
import { KubernetesCluster } from '../../shared/kubernetes/cluster.ts';
import type { ControlCommand } from '../../shared/messages.ts';
import { sampleImage } from '../../shared/registry/image.ts';
import { uploadImage } from '../../shared/registry/upload.ts';
import type { ReleaseTargetInput } from '../../shared/target/schema.ts';
import { TargetStore } from '../../shared/target/store.ts';
import { validateReleaseTarget } from '../../shared/target/validate.ts';
import { testFirestore, testPubSub } from './clients.ts';
import { audienceOf, issuedToken, testUser } from './identity.ts';
import {
  createTestNamespace,
  deleteNamespace,
  isNotFound,
  type KubeClients,
  kubeClients,
  waitForDeploymentAvailable,
} from './kube.ts';
import { registryOf, type StackInfo, stack, uniqueId } from './stack.ts';

/** The digest of the n-th test image: a real image (shared/registry/image.ts) that `push(n)` uploads. */
export const digestOf = (n: number | string) => sampleImage(n).digest;

/** One line of the registry bridge's journal (infra/local/registry-bridge.ts). */
interface Published {
  messageId: string;
  message: { action: string; digest: string; tag?: string };
}

/**
 * Uploads the n-th test image to the stack's registry as `repository` (under `tag`, or by digest
 * when null) and waits for the registry's own push notification to be published on `gcr` by the
 * stack's bridge; returns that message's id.
 */
export async function pushToRegistry(
  repository: string,
  n: number | string,
  tag: string | null,
  on: StackInfo = stack(),
): Promise<string> {
  const registry = registryOf(on);
  const image = sampleImage(n);
  const name = repository.slice(repository.indexOf('/') + 1);
  const from = existsSync(registry.journal) ? statSync(registry.journal).size : 0;
  await uploadImage(registry.url, name, image, tag ?? image.digest);
  const digest = `${repository}@${image.digest}`;
  const tagged = tag ? `${repository}:${tag}` : undefined;
  return waitFor(
    () => {
      if (!existsSync(registry.journal)) return undefined;
      const lines = readFileSync(registry.journal).subarray(from).toString('utf8').split('\n');
      for (const line of lines) {
        if (!line) continue;
        const p = JSON.parse(line) as Published;
        if (p.message.digest === digest && p.message.tag === tagged) return p.messageId;
      }
      return undefined;
    },
    { timeoutMs: 30_000, intervalMs: 50, what: `the registry's notification of ${tagged ?? digest} on gcr` },
  );
}

/** The kubeconfig context of the stack's cluster (targets name it). */
export function stackContext(on: StackInfo = stack()): string {
  const kc = parse(readFileSync(on.kubeconfig, 'utf8')) as { 'current-context': string };
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
  /**
   * Pushes `image(n)` tagged `v<n>` (`tag`: another tag; null: by digest) to the stack's registry;
   * its own notification, bridged to `gcr`, starts the release. Returns that message's id.
   */
  push(n: number | string, opts?: { tag?: string | null }): Promise<string>;
  /** Uploads `image(n)` to the registry under `reference` (default: by digest); resolves with no wait. */
  upload(n: number | string, reference?: string): Promise<void>;
  /**
   * Publishes an Artifact Registry INSERT of `image(n)` (tagged `v<n>` unless told) on `gcr` itself,
   * whatever the registry holds: for forged or repeated notifications. Returns its message id.
   */
  publishPush(n: number | string, opts?: { tag?: string | null; digest?: string }): Promise<string>;
  /**
   * Publishes a control message signed by the stack's issuer as `test@switchyard` (an operator of
   * the test stacks) and returns its request id. `as`: sign as another email; `idToken`: send this
   * token instead (null: none).
   */
  control(
    command: ControlCommand,
    opts?: { full?: boolean; release?: string; reason?: string; as?: string; idToken?: string | null },
  ): Promise<string>;
  /** Waits for the control function's answer to a request (its record under the request id). */
  answer(requestId: string, timeoutMs?: number): Promise<RequestRecord>;
  workload(): Promise<Workload>;
  release(id: string): Promise<Release | null>;
  /** Waits until the release satisfies `done` (default: a terminal phase), returning it. */
  waitRelease(id: string, done?: (r: Release) => boolean, timeoutMs?: number): Promise<Release>;
  /** Waits for the release started by the n-th push (by number) to exist. */
  waitReleaseNumber(n: number, timeoutMs?: number): Promise<Release>;
  /** The Deployment, or null when there is none; a failed read (API server away) throws. */
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
  /** spec.access of the target. */
  access?: unknown[];
  /** spec.image.tagFilter of the target. */
  tagFilter?: string;
  /** spec.dependsOn of the target (release trains): the names of other fixtures' targets. */
  dependsOn?: string[];
  /** spec.rollbackTrain of the target. */
  rollbackTrain?: boolean;
  /** spec.drain of the target (its templates in `analysis`). */
  drain?: Record<string, unknown>;
  /** spec.image.versionGroup of the target (with tagFilter). */
  versionGroup?: number | string;
  /** spec.image.repository (default: `us-docker.pkg.dev/acme/<name>/api`, which the stack's registry serves). */
  repository?: string;
}

/**
 * A plain Deployment `api` with Services, and a target for it with zero delays unless told otherwise.
 * `on`: the stack to work on, the run's shared one unless a test brings its own (private-stack.ts).
 */
export async function releaseFixture(
  prefix: string,
  opts: FixtureOptions = {},
  on: StackInfo = stack(),
): Promise<Fixture> {
  const kube = kubeClients(on.kubeconfig);
  const namespace = await createTestNamespace(prefix, kube);
  const name = uniqueId(prefix).slice(0, 40);
  const repository = opts.repository ?? `us-docker.pkg.dev/acme/${name}/api`;
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
      image: {
        repository,
        ...(opts.tagFilter ? { tagFilter: opts.tagFilter } : {}),
        ...(opts.versionGroup !== undefined ? { versionGroup: opts.versionGroup } : {}),
      },
      cluster: { context: opts.context ?? stackContext(on) },
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
      ...(opts.access ? { access: opts.access } : {}),
      ...(opts.dependsOn ? { dependsOn: opts.dependsOn } : {}),
      ...(opts.rollbackTrain ? { rollbackTrain: true } : {}),
      ...(opts.drain ? { drain: opts.drain } : {}),
    } as ReleaseTargetInput['spec'],
  };
  const db = testFirestore(on.projectId, on);
  const checked = validateReleaseTarget(doc, 0);
  if ('errors' in checked) throw new Error(`bad test target: ${JSON.stringify(checked.errors)}`);
  await new TargetStore(db).apply([checked.target], 'test');
  const store = new Store(db);
  const pubsub = testPubSub(on);
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
    push(n, o = {}) {
      return pushToRegistry(repository, n, o.tag === undefined ? `v${n}` : o.tag, on);
    },
    async upload(n, reference) {
      const img = sampleImage(n);
      await uploadImage(
        registryOf(on).url,
        repository.slice(repository.indexOf('/') + 1),
        img,
        reference ?? img.digest,
      );
    },
    async publishPush(n, o = {}) {
      const tag = o.tag === undefined ? `v${n}` : o.tag;
      return publishPush(pubsub, {
        action: 'INSERT',
        image: o.digest ?? image(n),
        repository,
        ...(tag ? { tag } : {}),
      });
    },
    async control(command, o = {}) {
      const { as, idToken: given, ...fields } = o;
      const requestId = `req-${uniqueId(command)}`;
      const idToken =
        given === undefined
          ? await issuedToken(on.issuerUrl, as ?? testUser, audienceOf(on.projectId))
          : given;
      // Sent as the CLI sends it; a test may pass fields the CLI never would (they are what it tests).
      const message = {
        command,
        target: name,
        requestedBy: as ?? testUser,
        requestId,
        ...fields,
        ...(idToken === null ? {} : { idToken }),
      } as ClientMessage;
      await publishControl({ pubsub, store, prefix: 'switchyard' }, message);
      return requestId;
    },
    answer: (requestId, timeoutMs = 60_000) =>
      waitFor(
        async () => {
          const snap = await store.requestRef(requestId).get();
          return snap.exists ? (snap.data() as RequestRecord) : undefined;
        },
        { timeoutMs, what: `the answer to request ${requestId}` },
      ),
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
      } catch (err) {
        // Only "not there" is an answer: a read that failed says nothing about the Deployment, and
        // taken for null it looked like a revision with no ready replicas to the invariant checker
        // while the API server restarted.
        if (isNotFound(err)) return null;
        throw err;
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
