// The Kubernetes adapter: the engine's Cluster operations as @kubernetes/client-node calls. Every
// mutation reads first and writes only what differs, so a redelivered step changes nothing twice;
// every failure leaves as a ClusterError whose `kind` decides retry or give up (retriability() in shared/errors.ts).
import { randomBytes } from 'node:crypto';
import {
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  EventsV1Api,
  type KubeConfig,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1Service,
} from '@kubernetes/client-node';
import { clientConfiguration, defaultRequestTimeoutMs } from './client.ts';
import { attempt, ClusterError, readOrNull, toClusterError } from './errors.ts';
import {
  type HttpRouteView,
  httpRouteApi,
  httpRouteReferences,
  ingressReferences,
  type RouteReference,
  servingReason,
  throughRoutes,
} from './guard.ts';
import { revisionDeployment } from './revision.ts';
import {
  annotations,
  type Cluster,
  type ClusterEvent,
  type EndpointCounts,
  labels,
  managerName,
  type RevisionSpec,
  type RevisionStatus,
  type RouteObject,
  type ServingGuard,
  type WorkloadSnapshot,
} from './types.ts';

export { defaultRequestTimeoutMs };

/** Kubernetes API requests made by one KubernetesCluster, split by HTTP method (GET = read). */
export interface CallCount {
  reads: number;
  writes: number;
}

// Patches are JSON merge patches: they say the resulting values, and `null` removes a key, which
// is what replacing a Service selector needs. The client's default would be a JSON patch.
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The engine's Cluster on one Kubernetes API server (the current context of `kubeConfig`). */
export class KubernetesCluster implements Cluster {
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly discovery: DiscoveryV1Api;
  private readonly autoscaling: AutoscalingV2Api;
  private readonly events: EventsV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly networking: NetworkingV1Api;
  private readonly calls: CallCount = { reads: 0, writes: 0 };

  /**
   * `onCall` hears of every API request (the runtime counts them per invocation). Every request is
   * abandoned after `requestTimeoutMs` (an 'unavailable' ClusterError), so a step's writes end well
   * inside its lease on the release.
   */
  constructor(
    kubeConfig: KubeConfig,
    onCall?: (kind: 'read' | 'write') => void,
    requestTimeoutMs = defaultRequestTimeoutMs,
  ) {
    // Every request is counted (benchmarks compare the API calls of a release; redelivery tests
    // assert that no second write happens).
    const configuration = clientConfiguration(kubeConfig, {
      requestTimeoutMs,
      onRequest: (kind) => {
        if (kind === 'read') this.calls.reads++;
        else this.calls.writes++;
        onCall?.(kind);
      },
    });
    this.apps = new AppsV1Api(configuration);
    this.core = new CoreV1Api(configuration);
    this.discovery = new DiscoveryV1Api(configuration);
    this.autoscaling = new AutoscalingV2Api(configuration);
    this.events = new EventsV1Api(configuration);
    this.custom = new CustomObjectsApi(configuration);
    this.networking = new NetworkingV1Api(configuration);
  }

  /** API requests made so far (a copy: take one before and one after to count an operation). */
  get callCount(): CallCount {
    return { ...this.calls };
  }

  /** Reads only. Revisions are found by labels, Services by name; a missing Service is `null`. */
  async snapshot(namespace: string, workload: string, services: string[]): Promise<WorkloadSnapshot> {
    const [plain, revisionList, serviceObjects] = await Promise.all([
      this.readDeployment(namespace, workload),
      attempt(`listing the revisions of workload "${workload}" in namespace "${namespace}"`, () =>
        this.apps.listNamespacedDeployment({ namespace, labelSelector: revisionSelector(workload) }),
      ),
      Promise.all(services.map((name) => this.readService(namespace, name))),
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
          const problem = await this.podProblem(namespace, workload, r.revision);
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
      missing && !plain && revisionList.items.length === 0 && (await this.namespaceMissing(namespace));
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

  /**
   * Idempotent: creates the revision's Deployment when absent, else scales it to `spec.replicas`
   * (no write when equal). A concurrent create (409) is re-read and treated like "exists". Throws
   * 'unsafe' when a Deployment of that name exists but is not this revision of Switchyard's, and
   * 'conflict' (retriable) while it is being deleted.
   */
  async ensureRevision(spec: RevisionSpec, guard: ServingGuard): Promise<void> {
    const desired = revisionDeployment(spec);
    const name = desired.metadata?.name ?? '';
    let existing = await this.readDeployment(spec.namespace, name);
    if (!existing) {
      try {
        await this.apps.createNamespacedDeployment({
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
      existing = await this.readDeployment(spec.namespace, name);
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
      await this.guard(spec.namespace, existing, spec.replicas, guard);
      await this.patchDeployment(spec.namespace, name, { spec: { replicas: spec.replicas } });
    }
  }

  /**
   * Idempotent (no write when equal). Throws 'not-found' when absent, 'unsafe' when not a revision,
   * 'in-use' when scaling to zero would take away what a checked Service serves (see guard()).
   */
  async scaleRevision(
    namespace: string,
    deployment: string,
    replicas: number,
    guard: ServingGuard,
  ): Promise<void> {
    const existing = await this.requireDeployment(namespace, deployment);
    if (!isManaged(existing)) {
      throw new ClusterError(
        'unsafe',
        `Deployment "${deployment}" in namespace "${namespace}" is not managed by Switchyard: not scaling it as a revision`,
      );
    }
    if (existing.spec?.replicas === replicas) return;
    await this.guard(namespace, existing, replicas, guard);
    await this.patchDeployment(namespace, deployment, { spec: { replicas } });
  }

  /**
   * Idempotent (no write when equal). On the first scale-down records the former replica count in
   * the `switchyard.dev/adopted-replicas` annotation, never overwriting it later, so a rollback of an
   * adoption can restore it. Throws 'not-found' when absent, 'unsafe' for a Switchyard revision.
   */
  async scalePlainDeployment(
    namespace: string,
    deployment: string,
    replicas: number,
    guard: ServingGuard,
  ): Promise<void> {
    const existing = await this.requireDeployment(namespace, deployment);
    if (isManaged(existing)) {
      throw new ClusterError(
        'unsafe',
        `Deployment "${deployment}" in namespace "${namespace}" is a Switchyard revision, not a plain Deployment`,
      );
    }
    const current = existing.spec?.replicas ?? 1;
    if (current === replicas) return;
    await this.guard(namespace, existing, replicas, guard);
    const recorded = existing.metadata?.annotations?.[annotations.adoptedReplicas] !== undefined;
    const patch: DeploymentPatch = { spec: { replicas } };
    if (replicas < current && !recorded) {
      patch.metadata = { annotations: { [annotations.adoptedReplicas]: String(current) } };
    }
    await this.patchDeployment(namespace, deployment, patch);
  }

  /** Reads only; a missing Deployment is `exists: false` with zero counts. */
  async revisionStatus(namespace: string, deployment: string): Promise<RevisionStatus> {
    const d = await this.readDeployment(namespace, deployment);
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

  /**
   * Reads only. Counts the endpoints of the Service's EndpointSlices by the revision label of the
   * pods they point at; an endpoint listed in several slices (dual stack, slice handover) counts
   * once, and as ready only if every listing says ready — the cautious answer for "may traffic
   * move". Endpoints without a Pod, or whose pod is already gone, count under "". Throws
   * 'not-found' naming the Service when it does not exist.
   */
  async endpoints(namespace: string, service: string): Promise<EndpointCounts> {
    await this.requireService(namespace, service);
    return this.endpointsOf(namespace, service);
  }

  private async endpointsOf(namespace: string, service: string): Promise<EndpointCounts> {
    const slices = await attempt(
      `listing the EndpointSlices of Service "${service}" in namespace "${namespace}"`,
      () =>
        this.discovery.listNamespacedEndpointSlice({
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
        this.core.listNamespacedPod({ namespace }),
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

  /**
   * Idempotent (no write when the selector already is exactly the wanted one). Replaces the whole
   * selector, removing any other key, with a merge patch conditioned on the resourceVersion read, so
   * a concurrent change of the Service ends in a retriable 'conflict' instead of a mixed selector.
   * Throws 'not-found' naming the Service when it does not exist.
   */
  async selectRevision(
    namespace: string,
    service: string,
    workload: string,
    revision: string,
    onlyFrom?: string,
  ): Promise<void> {
    await this.replaceSelector(
      namespace,
      service,
      { [labels.name]: workload, [labels.revision]: revision },
      onlyFrom === undefined ? undefined : (selector) => selector[labels.revision] === onlyFrom,
    );
  }

  /** Idempotent, like selectRevision, with any selector (the one a Service had before adoption). */
  async restoreSelector(namespace: string, service: string, selector: Record<string, string>): Promise<void> {
    await this.replaceSelector(namespace, service, selector);
  }

  private async replaceSelector(
    namespace: string,
    service: string,
    wanted: Record<string, string>,
    only?: (selector: Record<string, string>) => boolean,
  ) {
    const current = await this.requireService(namespace, service);
    const selector = current.spec?.selector ?? {};
    if (sameSelector(selector, wanted) || (only && !only(selector))) return;
    const next: Record<string, string | null> = {};
    for (const key of Object.keys(selector)) next[key] = null;
    Object.assign(next, wanted);
    await attempt(`switching the selector of Service "${service}" in namespace "${namespace}"`, () =>
      this.core.patchNamespacedService(
        {
          name: service,
          namespace,
          fieldManager: managerName,
          body: {
            metadata: { resourceVersion: current.metadata?.resourceVersion },
            spec: { selector: next },
          },
        },
        mergePatch,
      ),
    );
  }

  /**
   * Idempotent: points every autoscaling/v2 HPA whose scaleTargetRef is Deployment `from` at
   * Deployment `to`; no write when there is none (e.g. already moved).
   */
  async moveHpa(namespace: string, from: string, to: string): Promise<void> {
    if (from === to) return;
    for (const hpa of await this.hpasTargeting(namespace, from)) {
      const name = hpa.metadata?.name ?? '';
      await attempt(`moving HorizontalPodAutoscaler "${name}" in namespace "${namespace}" to "${to}"`, () =>
        this.autoscaling.patchNamespacedHorizontalPodAutoscaler(
          { name, namespace, fieldManager: managerName, body: { spec: { scaleTargetRef: { name: to } } } },
          mergePatch,
        ),
      );
    }
  }

  /**
   * Idempotent ("not found" and "already being deleted" are success). Deletes only Deployments
   * managed by Switchyard ('unsafe' otherwise), only once they are scaled to zero ('in-use' while
   * they have replicas: scale them down through the guard first), and never while a checked Service
   * selects them or lists their endpoints ('in-use', see guard()). The delete is conditioned on the
   * uid and resourceVersion checked, so a Deployment scaled up or recreated meanwhile is not removed
   * unchecked (the API answers 409, a retriable conflict).
   */
  async deleteRevision(namespace: string, deployment: string, guard: ServingGuard): Promise<void> {
    // The Deployment controller writes status right after a scale-down, which moves the
    // resourceVersion: a 409 is read again and checked again, a few times.
    for (let tries = 1; ; tries++) {
      const existing = await this.readDeployment(namespace, deployment);
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
      await this.guard(namespace, existing, 0, guard);
      try {
        await this.apps.deleteNamespacedDeployment({
          name: deployment,
          namespace,
          propagationPolicy: 'Background',
          body: {
            preconditions: {
              uid: existing.metadata?.uid,
              resourceVersion: existing.metadata?.resourceVersion,
            },
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

  /**
   * The serving guard, in front of every scale-down and delete of a Deployment (SPEC §14: never take
   * down what serves); the rule is stated in guard.ts. Reads `guard.routes` live (a missing one is
   * no reference), then each of `guard.services` and each Service a live route sends traffic to,
   * with its EndpointSlices, and refuses with an 'in-use' ServingRefusal naming the Service (and the
   * routes that reach it) when going to `replicasAfter` = 0 would take traffic away. A scale-down
   * that leaves replicas is a resize, not a removal, and passes. Reads only.
   */
  private async guard(
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
      await Promise.all(guard.routes.map((route) => this.routeReferences(namespace, route)))
    ).flat();
    for (const serviceName of new Set([...guard.services, ...references.map((r) => r.service)])) {
      const service = await this.readService(namespace, serviceName);
      if (!service) continue;
      const counts = await this.endpointsOf(namespace, serviceName);
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
  private async routeReferences(namespace: string, route: RouteObject): Promise<RouteReference[]> {
    const where = `reading ${route.kind} "${route.name}" in namespace "${namespace}" (serving guard)`;
    switch (route.kind) {
      case 'HTTPRoute': {
        const object = await readOrNull(where, () =>
          this.custom.getNamespacedCustomObject({ ...httpRouteApi, namespace, name: route.name }),
        );
        return object ? httpRouteReferences(route.name, object as HttpRouteView, namespace) : [];
      }
      case 'Ingress': {
        const object = await readOrNull(where, () =>
          this.networking.readNamespacedIngress({ namespace, name: route.name }),
        );
        return object ? ingressReferences(route.name, object) : [];
      }
    }
  }

  async recordEvent(namespace: string, event: ClusterEvent): Promise<void> {
    const apiVersion = event.regarding.kind === 'Deployment' ? 'apps/v1' : 'v1';
    await attempt(`recording an Event about ${event.regarding.kind} "${event.regarding.name}"`, () =>
      this.events.createNamespacedEvent({
        namespace,
        body: {
          // Named as kubelet names its Events: the object's name and a unique suffix.
          metadata: {
            name: `${event.regarding.name}.${Date.now().toString(16)}${randomBytes(2).toString('hex')}`,
            namespace,
          },
          // MicroTime: the API server wants exactly six fractional digits, and the client would send
          // a Date with three, so the time goes as the string the server expects.
          eventTime: microTime(new Date()) as unknown as Date,
          reportingController: `switchyard.dev/${managerName}`,
          reportingInstance: event.instance.slice(0, 128),
          action: event.action.slice(0, 128),
          reason: event.reason.slice(0, 128),
          note: event.note.slice(0, 1024),
          type: event.type,
          regarding: { apiVersion, kind: event.regarding.kind, name: event.regarding.name, namespace },
        },
      }),
    );
  }

  /**
   * Why the revision's pods are not ready, as the cluster says it: a container waiting or
   * terminated with a reason (CrashLoopBackOff, ImagePullBackOff, Error…) or a pod that cannot be
   * scheduled. Null when the pods just have not got there yet.
   */
  private async podProblem(namespace: string, workload: string, revision: string): Promise<string | null> {
    const pods = await attempt(`listing the pods of revision ${revision} in namespace "${namespace}"`, () =>
      this.core.listNamespacedPod({
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
      if (
        why &&
        !['ContainerCreating', 'PodInitializing'].includes(container?.state?.waiting?.reason ?? '')
      ) {
        const short = why.slice(0, 300);
        seen.set(short, (seen.get(short) ?? 0) + 1);
      }
    }
    const [first] = [...seen.entries()].sort((a, b) => b[1] - a[1]);
    return first ? `${first[0]} (${first[1]} of ${pods.items.length} pods)` : null;
  }

  /** True only when the API server says the namespace does not exist (not when it may not say). */
  private async namespaceMissing(namespace: string): Promise<boolean> {
    try {
      await this.core.readNamespace({ name: namespace });
      return false;
    } catch (err) {
      return err instanceof ApiException && err.code === 404;
    }
  }

  private async readDeployment(namespace: string, name: string): Promise<V1Deployment | null> {
    return readOrNull(`reading Deployment "${name}" in namespace "${namespace}"`, () =>
      this.apps.readNamespacedDeployment({ name, namespace }),
    );
  }

  private async requireDeployment(namespace: string, name: string): Promise<V1Deployment> {
    const d = await this.readDeployment(namespace, name);
    if (d) return d;
    throw new ClusterError(
      'not-found',
      `Deployment "${name}" not found in namespace "${namespace}": it was deleted outside Switchyard, or the target names the wrong workload or namespace`,
      { status: 404 },
    );
  }

  private async readService(namespace: string, name: string): Promise<V1Service | null> {
    return readOrNull(`reading Service "${name}" in namespace "${namespace}"`, () =>
      this.core.readNamespacedService({ name, namespace }),
    );
  }

  private async requireService(namespace: string, name: string): Promise<V1Service> {
    const s = await this.readService(namespace, name);
    if (s) return s;
    throw new ClusterError(
      'not-found',
      `Service "${name}" not found in namespace "${namespace}": create it, or fix the Service name or namespace in the release target`,
      { status: 404 },
    );
  }

  private async patchDeployment(namespace: string, name: string, body: DeploymentPatch): Promise<void> {
    await attempt(`patching Deployment "${name}" in namespace "${namespace}"`, () =>
      this.apps.patchNamespacedDeployment({ name, namespace, body, fieldManager: managerName }, mergePatch),
    );
  }

  private async hpasTargeting(namespace: string, deployment: string) {
    const list = await attempt(`listing HorizontalPodAutoscalers in namespace "${namespace}"`, () =>
      this.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace }),
    );
    return list.items.filter(
      (h) => h.spec?.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === deployment,
    );
  }
}

/** The parts of a Deployment that Switchyard ever changes (a merge patch of them). */
interface DeploymentPatch {
  metadata?: { resourceVersion?: string; annotations?: Record<string, string> };
  spec?: { replicas?: number };
}

/** Label selector of a workload's revision Deployments (only Switchyard's own). */
function revisionSelector(workload: string): string {
  return `${labels.name}=${workload},${labels.revision},${labels.managedBy}=${managerName}`;
}

/**
 * A refusal of the serving guard: the Deployment still serves (or is still listed) behind
 * `service`, which `routes` (e.g. `HTTPRoute "web"`) send traffic to, if any. Kind 'in-use'; the
 * step that hit it records it in the release history.
 */
export class ServingRefusal extends ClusterError {
  readonly service: string | undefined;
  readonly routes: string[];
  constructor(message: string, service?: string, routes: string[] = []) {
    super('in-use', message);
    this.name = 'ServingRefusal';
    this.service = service;
    this.routes = routes;
  }
}

/**
 * Why an existing Deployment cannot be trusted as the revision it is named after: its pod template
 * is not the one Switchyard would create for that revision (edited by hand, or made outside
 * Switchyard under a revision's name). Every field of the wanted template must be there with the
 * same value; fields the API server filled in with defaults are allowed beside them. Null when it
 * is intact.
 */
export function tamperedReason(existing: V1Deployment, desired: V1Deployment): string | null {
  const differs = firstDifference(
    JSON.parse(JSON.stringify(desired.spec?.template ?? {})),
    JSON.parse(JSON.stringify(existing.spec?.template ?? {})),
    'spec.template',
  );
  if (!differs) return null;
  return `Deployment "${existing.metadata?.name}" is named after revision ${existing.metadata?.labels?.[labels.revision]} but its pod template is not that revision's (${differs}): it was changed or made outside Switchyard; delete it or restore its template`;
}

/** The first path where `actual` lacks or changes what `wanted` has (arrays: same length, item by item). */
function firstDifference(wanted: unknown, actual: unknown, path: string): string | null {
  if (wanted === null || typeof wanted !== 'object') {
    return wanted === actual
      ? null
      : `${path} is ${JSON.stringify(actual)?.slice(0, 120)}, not ${JSON.stringify(wanted)?.slice(0, 120)}`;
  }
  if (Array.isArray(wanted)) {
    if (!Array.isArray(actual) || actual.length !== wanted.length) return `${path} differs`;
    for (let i = 0; i < wanted.length; i++) {
      const d = firstDifference(wanted[i], actual[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return `${path} differs`;
  for (const [key, value] of Object.entries(wanted)) {
    const d = firstDifference(value, (actual as Record<string, unknown>)[key], `${path}.${key}`);
    if (d) return d;
  }
  return null;
}

function isManaged(d: V1Deployment): boolean {
  return d.metadata?.labels?.[labels.managedBy] === managerName;
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

function sameSelector(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** RFC 3339 with microseconds, as Kubernetes' MicroTime fields are written. */
export function microTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
