// Kubernetes helpers for tests against the local stack's cluster (kwok nodes, real control plane).
// Every wait polls the API with a deadline and fails with what it last saw; nothing sleeps and hopes.
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  type V1Deployment,
  type V1DeploymentCondition,
  type V1Job,
  type V1JobCondition,
  type V1Pod,
} from '@kubernetes/client-node';
import { waitFor } from '../../infra/local/process.ts';
import { stack, uniqueId } from './stack.ts';

export interface KubeClients {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  discovery: DiscoveryV1Api;
}

/** API clients for the cluster of `kubeconfig` (a file path), using its current context. */
export function kubeClients(kubeconfig: string): KubeClients {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfig);
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(CoreV1Api),
    apps: kubeConfig.makeApiClient(AppsV1Api),
    batch: kubeConfig.makeApiClient(BatchV1Api),
    discovery: kubeConfig.makeApiClient(DiscoveryV1Api),
  };
}

/** Clients for the running stack's cluster (`stack().kubeconfig`). */
export function stackKubeClients(): KubeClients {
  return kubeClients(stack().kubeconfig);
}

/** Default deadline of the wait helpers: generous for a 2-core machine running the whole stack. */
export const defaultKubeTimeoutMs = 30_000;

export interface KubeWaitOptions {
  timeoutMs?: number;
}

/** True when `err` is the API's "not found" answer. */
export function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

/** Label put on every namespace made by `createTestNamespace`, to find leftovers. */
export const testNamespaceLabel = 'switchyard.dev/test';

/**
 * Creates a namespace with a unique name starting with `prefix` and returns its name once pods can
 * be created in it (its `default` ServiceAccount exists; the ServiceAccount admission plugin rejects
 * pods before that). Pair with `deleteNamespace` in the test's cleanup.
 */
export async function createTestNamespace(
  prefix: string,
  clients: KubeClients = stackKubeClients(),
  opts: KubeWaitOptions = {},
): Promise<string> {
  const name = uniqueId(prefix.toLowerCase().replace(/[^a-z0-9-]+/g, '-')).slice(0, 63);
  await clients.core.createNamespace({
    body: { metadata: { name, labels: { [testNamespaceLabel]: 'true' } } },
  });
  await waitFor(() => clients.core.readNamespacedServiceAccount({ name: 'default', namespace: name }), {
    timeoutMs: opts.timeoutMs ?? defaultKubeTimeoutMs,
    what: `ServiceAccount default in namespace ${name}`,
  });
  return name;
}

/**
 * Deletes a namespace (and so everything in it). Does not wait for it to disappear unless `wait` is
 * set; a missing namespace is fine.
 */
export async function deleteNamespace(
  name: string,
  clients: KubeClients = stackKubeClients(),
  opts: KubeWaitOptions & { wait?: boolean } = {},
): Promise<void> {
  try {
    await clients.core.deleteNamespace({ name, propagationPolicy: 'Background' });
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  if (!opts.wait) return;
  await waitFor(
    async () => {
      try {
        await clients.core.readNamespace({ name });
        return false;
      } catch (err) {
        if (isNotFound(err)) return true;
        throw err;
      }
    },
    { timeoutMs: opts.timeoutMs ?? 60_000, what: `namespace ${name} to be deleted` },
  );
}

/** The condition of `type` in a list of Kubernetes conditions, if present. */
export function findCondition<C extends { type: string }>(
  conditions: C[] | undefined,
  type: string,
): C | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when the pod's Ready condition is True. */
export function isPodReady(pod: V1Pod): boolean {
  return findCondition(pod.status?.conditions, 'Ready')?.status === 'True';
}

function describeDeployment(d: V1Deployment | undefined): string {
  if (!d) return 'not read yet';
  const s = d.status;
  const conds = (s?.conditions ?? []).map((c) => `${c.type}=${c.status}(${c.reason ?? ''})`).join(' ');
  return `replicas=${s?.replicas ?? 0} ready=${s?.readyReplicas ?? 0} available=${s?.availableReplicas ?? 0} ${conds}`;
}

/**
 * Waits until the Deployment has rolled out: controller caught up with the spec (observedGeneration),
 * all replicas updated, ready and available, condition Available=True. Returns the Deployment.
 */
export async function waitForDeploymentAvailable(
  clients: KubeClients,
  namespace: string,
  name: string,
  opts: KubeWaitOptions = {},
): Promise<V1Deployment> {
  let last: V1Deployment | undefined;
  try {
    return await waitFor(
      async () => {
        const d = await clients.apps.readNamespacedDeployment({ name, namespace });
        last = d;
        const want = d.spec?.replicas ?? 1;
        const s = d.status;
        const done =
          (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
          (s?.updatedReplicas ?? 0) === want &&
          (s?.readyReplicas ?? 0) === want &&
          (s?.availableReplicas ?? 0) === want &&
          (s?.replicas ?? 0) === want &&
          findCondition(s?.conditions, 'Available')?.status === 'True';
        return done ? d : undefined;
      },
      {
        timeoutMs: opts.timeoutMs ?? defaultKubeTimeoutMs,
        what: `deployment ${namespace}/${name} to be available`,
      },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${describeDeployment(last)}`);
  }
}

/**
 * Waits until the Deployment has a condition of `type` with the given status (and reason, if given),
 * e.g. Progressing=False reason ProgressDeadlineExceeded. Returns that condition.
 */
export async function waitForDeploymentCondition(
  clients: KubeClients,
  namespace: string,
  name: string,
  want: { type: string; status: 'True' | 'False' | 'Unknown'; reason?: string },
  opts: KubeWaitOptions = {},
): Promise<V1DeploymentCondition> {
  let last: V1Deployment | undefined;
  try {
    return await waitFor(
      async () => {
        last = await clients.apps.readNamespacedDeployment({ name, namespace });
        const c = findCondition(last.status?.conditions, want.type);
        return c && c.status === want.status && (want.reason === undefined || c.reason === want.reason)
          ? c
          : undefined;
      },
      {
        timeoutMs: opts.timeoutMs ?? defaultKubeTimeoutMs,
        what: `deployment ${namespace}/${name} condition ${want.type}=${want.status}${want.reason ? ` (${want.reason})` : ''}`,
      },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${describeDeployment(last)}`);
  }
}

/**
 * Waits until the pods matching `labelSelector` satisfy `check` (given the whole list, so it can ask
 * for a count as well as a state). Returns that list.
 */
export async function waitForPods(
  clients: KubeClients,
  namespace: string,
  labelSelector: string,
  check: (pods: V1Pod[]) => boolean,
  opts: KubeWaitOptions & { what?: string } = {},
): Promise<V1Pod[]> {
  let last: V1Pod[] = [];
  try {
    return await waitFor(
      async () => {
        last = (await clients.core.listNamespacedPod({ namespace, labelSelector })).items;
        return check(last) ? last : undefined;
      },
      {
        timeoutMs: opts.timeoutMs ?? defaultKubeTimeoutMs,
        what: `pods ${namespace}/${labelSelector}${opts.what ? ` ${opts.what}` : ''}`,
      },
    );
  } catch (err) {
    const seen = last.map((p) => `${p.metadata?.name}:${p.status?.phase}:ready=${isPodReady(p)}`).join(', ');
    throw new Error(`${(err as Error).message}; last seen: [${seen}]`);
  }
}

/** Waits until one pod satisfies `check` and returns it. */
export async function waitForPod(
  clients: KubeClients,
  namespace: string,
  name: string,
  check: (pod: V1Pod) => boolean,
  opts: KubeWaitOptions & { what?: string } = {},
): Promise<V1Pod> {
  let last: V1Pod | undefined;
  try {
    return await waitFor(
      async () => {
        last = await clients.core.readNamespacedPod({ name, namespace });
        return check(last) ? last : undefined;
      },
      {
        timeoutMs: opts.timeoutMs ?? defaultKubeTimeoutMs,
        what: `pod ${namespace}/${name} ${opts.what ?? ''}`,
      },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status ?? null)}`);
  }
}

/**
 * Waits until the Job has a terminal condition (Complete or Failed) with status True and returns it.
 * Which one it is, is for the caller to assert.
 */
export async function waitForJobFinished(
  clients: KubeClients,
  namespace: string,
  name: string,
  opts: KubeWaitOptions = {},
): Promise<V1JobCondition> {
  let last: V1Job | undefined;
  try {
    return await waitFor(
      async () => {
        last = await clients.batch.readNamespacedJob({ name, namespace });
        return last.status?.conditions?.find(
          (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
        );
      },
      { timeoutMs: opts.timeoutMs ?? defaultKubeTimeoutMs, what: `job ${namespace}/${name} to finish` },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status ?? null)}`);
  }
}
