// Every write of a Deployment: a revision created or scaled, a plain (adopted) Deployment scaled,
// a revision deleted. This is the only module that patches or deletes Deployments, and each of
// those calls sits right behind refuseIfServing(), the serving guard read live (SPEC §14: never
// take down what serves; the rule itself, pure, is in guard.ts). Nothing else can scale a
// Deployment to zero or delete one: patchDeployment() and the delete are not exported.
import type { V1Deployment } from '@kubernetes/client-node';
import { type ClusterApis, mergePatch } from './client.ts';
import { endpointsOf } from './endpoints.ts';
import { attempt, ClusterError, readOrNull, ServingRefusal, toClusterError } from './errors.ts';
import {
  type HttpRouteView,
  httpRouteApi,
  httpRouteReferences,
  ingressReferences,
  type RouteReference,
  servingReason,
  throughRoutes,
} from './guard.ts';
import { isManaged, readDeployment, readService, requireDeployment } from './reads.ts';
import { revisionDeployment } from './revision.ts';
import { tamperedReason } from './tampered.ts';
import {
  annotations,
  labels,
  managerName,
  type RevisionSpec,
  type RouteObject,
  type ServingGuard,
} from './types.ts';

/** The parts of a Deployment that Switchyard ever changes (a merge patch of them). */
interface DeploymentPatch {
  metadata?: { resourceVersion?: string; annotations?: Record<string, string> };
  spec?: { replicas?: number };
}

/**
 * Idempotent: creates the revision's Deployment when absent, else scales it to `spec.replicas`
 * (no write when equal). A concurrent create (409) is re-read and treated like "exists". Throws
 * 'unsafe' when a Deployment of that name exists but is not this revision of Switchyard's, and
 * 'conflict' (retriable) while it is being deleted.
 */
export async function ensureRevision(
  api: ClusterApis,
  spec: RevisionSpec,
  guard: ServingGuard,
): Promise<void> {
  const desired = revisionDeployment(spec);
  const name = desired.metadata?.name ?? '';
  let existing = await readDeployment(api, spec.namespace, name);
  if (!existing) {
    try {
      await api.apps.createNamespacedDeployment({
        namespace: spec.namespace,
        body: desired,
        fieldManager: managerName,
      });
      return;
    } catch (err) {
      const e = toClusterError(err, `creating Deployment "${name}" in namespace "${spec.namespace}"`);
      if (e.kind !== 'conflict') throw e;
    }
    // Created by a concurrent delivery of the same step between our read and our create.
    existing = await readDeployment(api, spec.namespace, name);
    if (!existing) {
      throw new ClusterError(
        'conflict',
        `Deployment "${name}" in namespace "${spec.namespace}" came and went`,
      );
    }
  }
  if (existing.metadata?.labels?.[labels.revision] !== spec.revision || !isManaged(existing)) {
    throw new ClusterError(
      'unsafe',
      `Deployment "${name}" in namespace "${spec.namespace}" exists but is not revision ${spec.revision} of workload "${spec.workload}" managed by Switchyard: rename or delete it`,
    );
  }
  const tampered = tamperedReason(existing, desired);
  if (tampered) throw new ClusterError('unsafe', tampered);
  if (existing.metadata?.deletionTimestamp) {
    throw new ClusterError(
      'conflict',
      `Deployment "${name}" in namespace "${spec.namespace}" is being deleted: retry once it is gone`,
    );
  }
  // Only ever scaled up here: a revision that exists may serve or be sized by its router or HPA.
  if ((existing.spec?.replicas ?? 1) < spec.replicas) {
    await refuseIfServing(api, spec.namespace, existing, spec.replicas, guard);
    await patchDeployment(api, spec.namespace, name, { spec: { replicas: spec.replicas } });
  }
}

/**
 * Idempotent (no write when equal). Throws 'not-found' when absent, 'unsafe' when not a revision,
 * 'in-use' when scaling to zero would take away what a checked Service serves (see refuseIfServing()).
 */
export async function scaleRevision(
  api: ClusterApis,
  namespace: string,
  deployment: string,
  replicas: number,
  guard: ServingGuard,
): Promise<void> {
  const existing = await requireDeployment(api, namespace, deployment);
  if (!isManaged(existing)) {
    throw new ClusterError(
      'unsafe',
      `Deployment "${deployment}" in namespace "${namespace}" is not managed by Switchyard: not scaling it as a revision`,
    );
  }
  if (existing.spec?.replicas === replicas) return;
  await refuseIfServing(api, namespace, existing, replicas, guard);
  await patchDeployment(api, namespace, deployment, { spec: { replicas } });
}

/**
 * Idempotent (no write when equal). On the first scale-down records the former replica count in
 * the `switchyard.dev/adopted-replicas` annotation, never overwriting it later, so a rollback of an
 * adoption can restore it. Throws 'not-found' when absent, 'unsafe' for a Switchyard revision.
 */
export async function scalePlainDeployment(
  api: ClusterApis,
  namespace: string,
  deployment: string,
  replicas: number,
  guard: ServingGuard,
): Promise<void> {
  const existing = await requireDeployment(api, namespace, deployment);
  if (isManaged(existing)) {
    throw new ClusterError(
      'unsafe',
      `Deployment "${deployment}" in namespace "${namespace}" is a Switchyard revision, not a plain Deployment`,
    );
  }
  const current = existing.spec?.replicas ?? 1;
  if (current === replicas) return;
  await refuseIfServing(api, namespace, existing, replicas, guard);
  const recorded = existing.metadata?.annotations?.[annotations.adoptedReplicas] !== undefined;
  const patch: DeploymentPatch = { spec: { replicas } };
  if (replicas < current && !recorded) {
    patch.metadata = { annotations: { [annotations.adoptedReplicas]: String(current) } };
  }
  await patchDeployment(api, namespace, deployment, patch);
}

/**
 * Idempotent ("not found" and "already being deleted" are success). Deletes only Deployments
 * managed by Switchyard ('unsafe' otherwise), only once they are scaled to zero ('in-use' while
 * they have replicas: scale them down through the guard first), and never while a checked Service
 * selects them or lists their endpoints ('in-use', see refuseIfServing()). The delete is
 * conditioned on the uid and resourceVersion checked, so a Deployment scaled up or recreated
 * meanwhile is not removed unchecked (the API answers 409, a retriable conflict).
 */
export async function deleteRevision(
  api: ClusterApis,
  namespace: string,
  deployment: string,
  guard: ServingGuard,
): Promise<void> {
  // The Deployment controller writes status right after a scale-down, which moves the
  // resourceVersion: a 409 is read again and checked again, a few times.
  for (let tries = 1; ; tries++) {
    const existing = await readDeployment(api, namespace, deployment);
    if (!existing || existing.metadata?.deletionTimestamp) return;
    if (!isManaged(existing)) {
      throw new ClusterError(
        'unsafe',
        `refusing to delete Deployment "${deployment}" in namespace "${namespace}": it is not managed by Switchyard`,
      );
    }
    if ((existing.spec?.replicas ?? 1) > 0) {
      throw new ServingRefusal(
        `refusing to delete Deployment "${deployment}" in namespace "${namespace}": it still has ${existing.spec?.replicas ?? 1} replicas; it is scaled to zero first`,
      );
    }
    await refuseIfServing(api, namespace, existing, 0, guard);
    try {
      await api.apps.deleteNamespacedDeployment({
        name: deployment,
        namespace,
        propagationPolicy: 'Background',
        body: {
          preconditions: { uid: existing.metadata?.uid, resourceVersion: existing.metadata?.resourceVersion },
        },
      });
      return;
    } catch (err) {
      const e = toClusterError(err, `deleting Deployment "${deployment}" in namespace "${namespace}"`);
      if (e.kind === 'not-found') return;
      if (e.kind !== 'conflict' || tries >= 3) throw e;
    }
  }
}

/** The one replica patch of a Deployment; every caller ran refuseIfServing() just before. */
async function patchDeployment(
  api: ClusterApis,
  namespace: string,
  name: string,
  body: DeploymentPatch,
): Promise<void> {
  await attempt(`patching Deployment "${name}" in namespace "${namespace}"`, () =>
    api.apps.patchNamespacedDeployment({ name, namespace, body, fieldManager: managerName }, mergePatch),
  );
}

/**
 * The serving guard, in front of every scale-down and delete of a Deployment; the rule is stated
 * in guard.ts. Reads `guard.routes` live (a missing one is no reference), then each of
 * `guard.services` and each Service a live route sends traffic to, with its EndpointSlices, and
 * refuses with an 'in-use' ServingRefusal naming the Service (and the routes that reach it) when
 * going to `replicasAfter` = 0 would take traffic away. A scale-down that leaves replicas is a
 * resize, not a removal, and passes. Reads only.
 */
async function refuseIfServing(
  api: ClusterApis,
  namespace: string,
  deployment: V1Deployment,
  replicasAfter: number,
  guard: ServingGuard,
): Promise<void> {
  if (replicasAfter > 0) return;
  const name = deployment.metadata?.name ?? '';
  const revision = deployment.metadata?.labels?.[labels.revision] ?? '';
  const podLabels = deployment.spec?.template?.metadata?.labels ?? {};
  const what = `${revision ? `revision ${revision}` : 'the plain Deployment'} ("${name}")`;
  const references = (
    await Promise.all(guard.routes.map((route) => routeReferences(api, namespace, route)))
  ).flat();
  for (const serviceName of new Set([...guard.services, ...references.map((r) => r.service)])) {
    const service = await readService(api, namespace, serviceName);
    if (!service) continue;
    const counts = await endpointsOf(api, namespace, serviceName);
    const reason = servingReason(service.spec?.selector ?? {}, podLabels, revision, counts);
    if (!reason) continue;
    const via = references.filter((r) => r.service === serviceName);
    throw new ServingRefusal(
      `refusing to take down ${what} in namespace "${namespace}": Service "${serviceName}" ${reason}${throughRoutes(via)}`,
      serviceName,
      [...new Set(via.map((r) => r.route))],
    );
  }
}

/** Reads one route object; what it sends traffic to now (nothing when it does not exist). */
async function routeReferences(
  api: ClusterApis,
  namespace: string,
  route: RouteObject,
): Promise<RouteReference[]> {
  const where = `reading ${route.kind} "${route.name}" in namespace "${namespace}" (serving guard)`;
  switch (route.kind) {
    case 'HTTPRoute': {
      const object = await readOrNull(where, () =>
        api.custom.getNamespacedCustomObject({ ...httpRouteApi, namespace, name: route.name }),
      );
      return object ? httpRouteReferences(route.name, object as HttpRouteView, namespace) : [];
    }
    case 'Ingress': {
      const object = await readOrNull(where, () =>
        api.networking.readNamespacedIngress({ namespace, name: route.name }),
      );
      return object ? ingressReferences(route.name, object) : [];
    }
  }
}
