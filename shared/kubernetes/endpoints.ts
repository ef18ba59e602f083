// What a Service's EndpointSlices list, counted by the revision of the pods behind each endpoint:
// what the engine asks before it moves traffic, and what the serving guard asks before a Deployment
// goes to zero. Reads only.
import type { ClusterApis } from './client.ts';
import { attempt } from './errors.ts';
import { requireService } from './reads.ts';
import { type EndpointCounts, labels } from './types.ts';

/**
 * Counts the endpoints of the Service's EndpointSlices by the revision label of the pods they
 * point at; an endpoint listed in several slices (dual stack, slice handover) counts once, and as
 * ready only if every listing says ready — the cautious answer for "may traffic move". Endpoints
 * without a Pod, or whose pod is already gone, count under "". Throws 'not-found' naming the
 * Service when it does not exist.
 */
export async function serviceEndpoints(
  api: ClusterApis,
  namespace: string,
  service: string,
): Promise<EndpointCounts> {
  await requireService(api, namespace, service);
  return endpointsOf(api, namespace, service);
}

/** serviceEndpoints() without reading the Service first (the caller has). */
export async function endpointsOf(
  api: ClusterApis,
  namespace: string,
  service: string,
): Promise<EndpointCounts> {
  const slices = await attempt(
    `listing the EndpointSlices of Service "${service}" in namespace "${namespace}"`,
    () =>
      api.discovery.listNamespacedEndpointSlice({
        namespace,
        labelSelector: `kubernetes.io/service-name=${service}`,
      }),
  );
  const endpoints = new Map<string, { pod: string | undefined; ready: boolean }>();
  for (const slice of slices.items) {
    for (const ep of slice.endpoints ?? []) {
      const pod = ep.targetRef?.kind === 'Pod' ? ep.targetRef.name : undefined;
      const key = pod !== undefined ? `pod/${pod}` : `addr/${ep.addresses.join(',')}`;
      const ready = ep.conditions?.ready === true;
      const seen = endpoints.get(key);
      endpoints.set(key, { pod, ready: seen ? seen.ready && ready : ready });
    }
  }

  const revisionOfPod = new Map<string, string>();
  if ([...endpoints.values()].some((e) => e.pod !== undefined)) {
    // One list of the namespace's pods instead of one read per endpoint.
    const pods = await attempt(`listing pods in namespace "${namespace}"`, () =>
      api.core.listNamespacedPod({ namespace }),
    );
    for (const p of pods.items) {
      if (p.metadata?.name) revisionOfPod.set(p.metadata.name, p.metadata.labels?.[labels.revision] ?? '');
    }
  }

  const counts: EndpointCounts = { readyByRevision: {}, totalByRevision: {} };
  for (const e of endpoints.values()) {
    const revision = e.pod !== undefined ? (revisionOfPod.get(e.pod) ?? '') : '';
    counts.totalByRevision[revision] = (counts.totalByRevision[revision] ?? 0) + 1;
    if (e.ready) counts.readyByRevision[revision] = (counts.readyByRevision[revision] ?? 0) + 1;
  }
  return counts;
}
