// The nginx-canary router's calls to the Kubernetes API: the networking client per KubeConfig, and
// reading, conditionally patching and ownership-checking an Ingress, every failure a ClusterError.
import {
  type KubeConfig,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Ingress,
} from '@kubernetes/client-node';
import { apiClient } from '../../kubernetes/client.ts';
import { ClusterError, toClusterError } from '../../kubernetes/errors.ts';
import { labels, managerName } from '../../kubernetes/types.ts';
import type { IngressPatch } from './canary-ingress.ts';

// Patches are JSON merge patches: they state the resulting values and `null` removes a key (the
// client's default would be a JSON patch).
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

// One client per KubeConfig: contexts are built per invocation, and the router itself is stateless.
const clients = new WeakMap<KubeConfig, NetworkingV1Api>();

export function networking(kubeConfig: KubeConfig): NetworkingV1Api {
  let api = clients.get(kubeConfig);
  if (!api) {
    api = apiClient(kubeConfig, NetworkingV1Api);
    clients.set(kubeConfig, api);
  }
  return api;
}

export function assertManaged(ingress: V1Ingress, namespace: string): void {
  if (ingress.metadata?.labels?.[labels.managedBy] === managerName) return;
  throw new ClusterError(
    'unsafe',
    `Ingress "${ingress.metadata?.name}" in namespace "${namespace}" exists but is not managed by Switchyard (no ${labels.managedBy}=${managerName} label): Switchyard creates its canary Ingress under that name; rename or delete the existing one`,
  );
}

export async function readIngress(
  api: NetworkingV1Api,
  namespace: string,
  name: string,
): Promise<V1Ingress | null> {
  try {
    return await api.readNamespacedIngress({ name, namespace });
  } catch (err) {
    const e = toClusterError(err, `reading Ingress "${name}" in namespace "${namespace}"`);
    if (e.kind === 'not-found') return null;
    throw e;
  }
}

export async function patchIngress(
  api: NetworkingV1Api,
  namespace: string,
  name: string,
  body: IngressPatch,
): Promise<void> {
  // The resourceVersion read makes the patch conditional: a concurrent change ends in a retriable
  // 'conflict' instead of a mix of two writers' annotations.
  try {
    await api.patchNamespacedIngress({ name, namespace, body, fieldManager: managerName }, mergePatch);
  } catch (err) {
    throw toClusterError(err, `patching Ingress "${name}" in namespace "${namespace}"`);
  }
}
