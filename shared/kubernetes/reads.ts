// The adapter's reads of single Deployments and Services, which every operation starts from: a
// missing object is `null` (read…) or a 'not-found' ClusterError naming it (require…).
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import type { ClusterApis } from './client.ts';
import { ClusterError, readOrNull } from './errors.ts';
import { labels, managerName } from './types.ts';

/** Whether Switchyard manages the Deployment (a revision), as opposed to a plain one. */
export function isManaged(d: V1Deployment): boolean {
  return d.metadata?.labels?.[labels.managedBy] === managerName;
}

export async function readDeployment(
  api: ClusterApis,
  namespace: string,
  name: string,
): Promise<V1Deployment | null> {
  return readOrNull(`reading Deployment "${name}" in namespace "${namespace}"`, () =>
    api.apps.readNamespacedDeployment({ name, namespace }),
  );
}

export async function requireDeployment(
  api: ClusterApis,
  namespace: string,
  name: string,
): Promise<V1Deployment> {
  const d = await readDeployment(api, namespace, name);
  if (d) return d;
  throw new ClusterError(
    'not-found',
    `Deployment "${name}" not found in namespace "${namespace}": it was deleted outside Switchyard, or the target names the wrong workload or namespace`,
    { status: 404 },
  );
}

export async function readService(
  api: ClusterApis,
  namespace: string,
  name: string,
): Promise<V1Service | null> {
  return readOrNull(`reading Service "${name}" in namespace "${namespace}"`, () =>
    api.core.readNamespacedService({ name, namespace }),
  );
}

export async function requireService(api: ClusterApis, namespace: string, name: string): Promise<V1Service> {
  const s = await readService(api, namespace, name);
  if (s) return s;
  throw new ClusterError(
    'not-found',
    `Service "${name}" not found in namespace "${namespace}": create it, or fix the Service name or namespace in the release target`,
    { status: 404 },
  );
}
