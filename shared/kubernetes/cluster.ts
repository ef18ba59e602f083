// The Kubernetes adapter: the engine's Cluster operations as @kubernetes/client-node calls. Every
// mutation reads first and writes only what differs, so a redelivered step changes nothing twice;
// every failure leaves as a ClusterError whose `kind` decides retry or give up (isRetriable).
import { randomBytes } from 'node:crypto';
import {
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  createConfiguration,
  DiscoveryV1Api,
  EventsV1Api,
  type KubeConfig,
  type Middleware,
  PatchStrategy,
  ServerConfiguration,
  setHeaderOptions,
  type V1Deployment,
  type V1Service,
} from '@kubernetes/client-node';
import { attempt, ClusterError, readOrNull, toClusterError } from './errors.ts';
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
  type WorkloadSnapshot,
} from './types.ts';

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
  private readonly calls: CallCount = { reads: 0, writes: 0 };

  /** `onCall` hears of every API request (the runtime counts them per invocation). */
  constructor(kubeConfig: KubeConfig, onCall?: (kind: 'read' | 'write') => void) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new ClusterError('invalid', 'the kubeconfig has no current cluster: pick a context');
    // Built like KubeConfig.makeApiClient, plus a middleware that counts every request (benchmarks
    // compare the API calls of a release; redelivery tests assert that no second write happens).
    const counter: Middleware = {
      pre: async (request) => {
        const method = request.getHttpMethod();
        const read = method === 'GET' || method === 'HEAD';
        if (read) this.calls.reads++;
        else this.calls.writes++;
        onCall?.(read ? 'read' : 'write');
        return request;
      },
      post: async (response) => response,
    };
    const configuration = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
      promiseMiddleware: [counter],
    });
    this.apps = new AppsV1Api(configuration);
    this.core = new CoreV1Api(configuration);
    this.discovery = new DiscoveryV1Api(configuration);
    this.autoscaling = new AutoscalingV2Api(configuration);
    this.events = new EventsV1Api(configuration);
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
    const serviceSelectors: WorkloadSnapshot['services'] = {};
    services.forEach((name, i) => {
      const service = serviceObjects[i];
      serviceSelectors[name] = service ? { selector: service.spec?.selector ?? {} } : null;
    });
    return {
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
  async ensureRevision(spec: RevisionSpec): Promise<void> {
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
    if (existing.metadata?.deletionTimestamp) {
      throw new ClusterError(
        'conflict',
        `Deployment "${name}" in namespace "${spec.namespace}" is being deleted: retry once it is gone`,
      );
    }
    if (existing.spec?.replicas !== spec.replicas) {
      await this.patchDeployment(spec.namespace, name, { spec: { replicas: spec.replicas } });
    }
  }

  /** Idempotent (no write when equal). Throws 'not-found' when absent, 'unsafe' when not a revision. */
  async scaleRevision(namespace: string, deployment: string, replicas: number): Promise<void> {
    const existing = await this.requireDeployment(namespace, deployment);
    if (!isManaged(existing)) {
      throw new ClusterError(
        'unsafe',
        `Deployment "${deployment}" in namespace "${namespace}" is not managed by Switchyard: not scaling it as a revision`,
      );
    }
    if (existing.spec?.replicas === replicas) return;
    await this.patchDeployment(namespace, deployment, { spec: { replicas } });
  }

  /**
   * Idempotent (no write when equal). On the first scale-down records the former replica count in
   * the `switchyard.dev/adopted-replicas` annotation, never overwriting it later, so a rollback of an
   * adoption can restore it. Throws 'not-found' when absent, 'unsafe' for a Switchyard revision.
   */
  async scalePlainDeployment(namespace: string, deployment: string, replicas: number): Promise<void> {
    const existing = await this.requireDeployment(namespace, deployment);
    if (isManaged(existing)) {
      throw new ClusterError(
        'unsafe',
        `Deployment "${deployment}" in namespace "${namespace}" is a Switchyard revision, not a plain Deployment`,
      );
    }
    const current = existing.spec?.replicas ?? 1;
    if (current === replicas) return;
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
  ): Promise<void> {
    const current = await this.requireService(namespace, service);
    const selector = current.spec?.selector ?? {};
    const wanted: Record<string, string> = { [labels.name]: workload, [labels.revision]: revision };
    if (sameSelector(selector, wanted)) return;
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
   * Reads only. The replica count the HPA targeting `deployment` stands for now: the larger of its
   * status' desired and current replicas (a green revision started there has the capacity either
   * way), or minReplicas before the HPA's first evaluation; null when no HPA targets it. The HPA
   * controller leaves desiredReplicas at 0 while it cannot read metrics, hence the max.
   */
  async hpaReplicas(namespace: string, deployment: string): Promise<number | null> {
    const [hpa] = await this.hpasTargeting(namespace, deployment);
    if (!hpa) return null;
    const seen = Math.max(hpa.status?.desiredReplicas ?? 0, hpa.status?.currentReplicas ?? 0);
    return seen > 0 ? seen : (hpa.spec?.minReplicas ?? 1);
  }

  /**
   * Idempotent ("not found" and "already being deleted" are success). Deletes only Deployments
   * managed by Switchyard ('unsafe' otherwise), and refuses ('unsafe') while a guard Service selects
   * the revision: its selector names the revision, or its selector matches the revision's pod labels
   * (e.g. a Service still selecting `app: api` during adoption). The delete is conditioned on the uid
   * checked, so a Deployment recreated meanwhile is not removed unchecked.
   */
  async deleteRevision(namespace: string, deployment: string, guardServices: string[]): Promise<void> {
    const existing = await this.readDeployment(namespace, deployment);
    if (!existing || existing.metadata?.deletionTimestamp) return;
    if (!isManaged(existing)) {
      throw new ClusterError(
        'unsafe',
        `refusing to delete Deployment "${deployment}" in namespace "${namespace}": it is not managed by Switchyard`,
      );
    }
    const revision = existing.metadata?.labels?.[labels.revision];
    const podLabels = existing.spec?.template?.metadata?.labels ?? {};
    const guards = await Promise.all(guardServices.map((name) => this.readService(namespace, name)));
    guardServices.forEach((name, i) => {
      const selector = guards[i]?.spec?.selector ?? {};
      const namesIt = revision !== undefined && selector[labels.revision] === revision;
      const matchesIt =
        Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => podLabels[k] === v);
      if (namesIt || matchesIt) {
        throw new ClusterError(
          'unsafe',
          `refusing to delete Deployment "${deployment}" in namespace "${namespace}": Service "${name}" still selects it (${formatSelector(selector)}); switch the Service to another revision first`,
        );
      }
    });
    try {
      await this.apps.deleteNamespacedDeployment({
        name: deployment,
        namespace,
        propagationPolicy: 'Background',
        body: { preconditions: { uid: existing.metadata?.uid } },
      });
    } catch (err) {
      const e = toClusterError(err, `deleting Deployment "${deployment}" in namespace "${namespace}"`);
      if (e.kind !== 'not-found') throw e;
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
  metadata?: { annotations?: Record<string, string> };
  spec?: { replicas?: number };
}

/** Label selector of a workload's revision Deployments (only Switchyard's own). */
function revisionSelector(workload: string): string {
  return `${labels.name}=${workload},${labels.revision},${labels.managedBy}=${managerName}`;
}

function isManaged(d: V1Deployment): boolean {
  return d.metadata?.labels?.[labels.managedBy] === managerName;
}

function statusOf(d: V1Deployment): RevisionStatus {
  const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing');
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
  };
}

function sameSelector(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function formatSelector(selector: Record<string, string>): string {
  return Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** RFC 3339 with microseconds, as Kubernetes' MicroTime fields are written. */
export function microTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
