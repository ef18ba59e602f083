// The observation reads of a workload: its plain Deployment, its revisions (with what keeps their
// pods from being ready) and its Services, as the engine's WorkloadSnapshot; and one revision's
// status. Reads only.
import { ApiException, type V1Deployment } from '@kubernetes/client-node';
import type { ClusterApis } from './client.ts';
import { attempt } from './errors.ts';
import { isManaged, readDeployment, readService } from './reads.ts';
import { labels, managerName, type RevisionStatus, type WorkloadSnapshot } from './types.ts';

/** Revisions are found by labels, Services by name; a missing Service is `null`. */
export async function snapshot(
  api: ClusterApis,
  namespace: string,
  workload: string,
  services: string[],
): Promise<WorkloadSnapshot> {
  const [plain, revisionList, serviceObjects] = await Promise.all([
    readDeployment(api, namespace, workload),
    attempt(`listing the revisions of workload "${workload}" in namespace "${namespace}"`, () =>
      api.apps.listNamespacedDeployment({ namespace, labelSelector: revisionSelector(workload) }),
    ),
    Promise.all(services.map((name) => readService(api, namespace, name))),
  ]);

  const revisions: WorkloadSnapshot['revisions'] = {};
  for (const d of revisionList.items) {
    const revision = d.metadata?.labels?.[labels.revision];
    if (!revision) continue;
    revisions[revision] = { ...statusOf(d), revision, template: d.spec?.template ?? {} };
  }
  // What keeps a revision from being ready, in the cluster's words (read only while it is not).
  await Promise.all(
    Object.values(revisions)
      .filter((r) => r.ready < r.desired && !r.problem)
      .map(async (r) => {
        const problem = await podProblem(api, namespace, workload, r.revision);
        if (problem) r.problem = problem;
      }),
  );
  const serviceSelectors: WorkloadSnapshot['services'] = {};
  services.forEach((name, i) => {
    const service = serviceObjects[i];
    serviceSelectors[name] = service ? { selector: service.spec?.selector ?? {} } : null;
  });
  // Only when something is missing: is it the whole namespace? (Answered only where the identity
  // may read namespaces; a Role in the namespace alone cannot, and then it is left unsaid.)
  const missing = services.some((name) => serviceSelectors[name] === null);
  const namespaceMissing =
    missing && !plain && revisionList.items.length === 0 && (await isNamespaceMissing(api, namespace));
  return {
    ...(namespaceMissing ? { namespaceMissing } : {}),
    plainDeployment:
      plain && !isManaged(plain)
        ? { name: workload, replicas: plain.spec?.replicas ?? 1, template: plain.spec?.template ?? {} }
        : null,
    revisions,
    services: serviceSelectors,
  };
}

/** A missing Deployment is `exists: false` with zero counts. */
export async function revisionStatus(
  api: ClusterApis,
  namespace: string,
  deployment: string,
): Promise<RevisionStatus> {
  const d = await readDeployment(api, namespace, deployment);
  if (!d) {
    return {
      name: deployment,
      exists: false,
      desired: 0,
      ready: 0,
      available: 0,
      progressDeadlineExceeded: false,
      images: {},
    };
  }
  return statusOf(d);
}

/** Label selector of a workload's revision Deployments (only Switchyard's own). */
function revisionSelector(workload: string): string {
  return `${labels.name}=${workload},${labels.revision},${labels.managedBy}=${managerName}`;
}

function statusOf(d: V1Deployment): RevisionStatus {
  const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing');
  // Pods the API server refused (a ResourceQuota, an admission policy): the ReplicaSet's failure,
  // which the Deployment controller copies onto the Deployment.
  const replicaFailure = d.status?.conditions?.find(
    (c) => c.type === 'ReplicaFailure' && c.status === 'True',
  );
  const images: Record<string, string> = {};
  for (const c of d.spec?.template?.spec?.containers ?? []) images[c.name] = c.image ?? '';
  return {
    name: d.metadata?.name ?? '',
    exists: true,
    desired: d.spec?.replicas ?? 1,
    ready: d.status?.readyReplicas ?? 0,
    available: d.status?.availableReplicas ?? 0,
    progressDeadlineExceeded:
      progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded',
    images,
    ...(replicaFailure
      ? {
          problem: `${replicaFailure.reason ?? 'ReplicaFailure'}: ${replicaFailure.message ?? ''}`.slice(
            0,
            300,
          ),
        }
      : {}),
  };
}

/**
 * Why the revision's pods are not ready, as the cluster says it: a container waiting or
 * terminated with a reason (CrashLoopBackOff, ImagePullBackOff, Error…) or a pod that cannot be
 * scheduled. Null when the pods just have not got there yet.
 */
async function podProblem(
  api: ClusterApis,
  namespace: string,
  workload: string,
  revision: string,
): Promise<string | null> {
  const pods = await attempt(`listing the pods of revision ${revision} in namespace "${namespace}"`, () =>
    api.core.listNamespacedPod({
      namespace,
      labelSelector: `${labels.name}=${workload},${labels.revision}=${revision}`,
    }),
  );
  const seen = new Map<string, number>();
  for (const pod of pods.items) {
    const unschedulable = pod.status?.conditions?.find(
      (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
    );
    const container = pod.status?.containerStatuses?.find(
      (c) => !c.ready && (c.state?.waiting?.reason || c.state?.terminated?.reason),
    );
    const why = unschedulable
      ? `Unschedulable: ${unschedulable.message ?? ''}`.trim()
      : container
        ? `container ${container.name} ${container.state?.waiting?.reason ?? container.state?.terminated?.reason}${
            (container.state?.waiting?.message ?? container.state?.terminated?.message)
              ? `: ${container.state?.waiting?.message ?? container.state?.terminated?.message}`
              : ''
          }`
        : null;
    if (why && !['ContainerCreating', 'PodInitializing'].includes(container?.state?.waiting?.reason ?? '')) {
      const short = why.slice(0, 300);
      seen.set(short, (seen.get(short) ?? 0) + 1);
    }
  }
  const [first] = [...seen.entries()].sort((a, b) => b[1] - a[1]);
  return first ? `${first[0]} (${first[1]} of ${pods.items.length} pods)` : null;
}

/** True only when the API server says the namespace does not exist (not when it may not say). */
async function isNamespaceMissing(api: ClusterApis, namespace: string): Promise<boolean> {
  try {
    await api.core.readNamespace({ name: namespace });
    return false;
  } catch (err) {
    return err instanceof ApiException && err.code === 404;
  }
}
