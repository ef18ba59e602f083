// The Kubernetes adapter: the engine's Cluster operations as @kubernetes/client-node calls. Every
// mutation reads first and writes only what differs, so a redelivered step changes nothing twice;
// every failure leaves as a ClusterError whose `kind` decides retry or give up (retriability() in
// shared/errors.ts). This class holds the clients and counts their requests; the operations are
// one file per concern:
// - snapshot.ts, endpoints.ts: the observation reads (revisions, Services, EndpointSlices);
// - deployment-writes.ts: every create, scale and delete of a Deployment, each behind the serving
//   guard (the only module that patches or deletes Deployments);
// - service-selectors.ts: switching a Service's selector; hpa.ts: moving an HPA;
// - events.ts: recording Kubernetes Events.
import type { KubeConfig } from '@kubernetes/client-node';
import { type ClusterApis, clusterApis, defaultRequestTimeoutMs } from './client.ts';
import { deleteRevision, ensureRevision, scalePlainDeployment, scaleRevision } from './deployment-writes.ts';
import { serviceEndpoints } from './endpoints.ts';
import { recordEvent } from './events.ts';
import { moveHpa } from './hpa.ts';
import { restoreSelector, selectRevision } from './service-selectors.ts';
import { revisionStatus, snapshot } from './snapshot.ts';
import type {
  Cluster,
  ClusterEvent,
  EndpointCounts,
  RevisionSpec,
  RevisionStatus,
  ServingGuard,
  WorkloadSnapshot,
} from './types.ts';

/** Kubernetes API requests made by one KubernetesCluster, split by HTTP method (GET = read). */
export interface CallCount {
  reads: number;
  writes: number;
}

/** The engine's Cluster on one Kubernetes API server (the current context of `kubeConfig`). */
export class KubernetesCluster implements Cluster {
  private readonly api: ClusterApis;
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
    this.api = clusterApis(kubeConfig, {
      requestTimeoutMs,
      onRequest: (kind) => {
        if (kind === 'read') this.calls.reads++;
        else this.calls.writes++;
        onCall?.(kind);
      },
    });
  }

  /** API requests made so far (a copy: take one before and one after to count an operation). */
  get callCount(): CallCount {
    return { ...this.calls };
  }

  /** Reads only (snapshot.ts). */
  snapshot(namespace: string, workload: string, services: string[]): Promise<WorkloadSnapshot> {
    return snapshot(this.api, namespace, workload, services);
  }

  /** Creates or scales up, idempotent (deployment-writes.ts). */
  ensureRevision(spec: RevisionSpec, guard: ServingGuard): Promise<void> {
    return ensureRevision(this.api, spec, guard);
  }

  /** Guarded, idempotent (deployment-writes.ts). */
  scaleRevision(namespace: string, deployment: string, replicas: number, guard: ServingGuard): Promise<void> {
    return scaleRevision(this.api, namespace, deployment, replicas, guard);
  }

  /** Guarded, idempotent, records the former count (deployment-writes.ts). */
  scalePlainDeployment(
    namespace: string,
    deployment: string,
    replicas: number,
    guard: ServingGuard,
  ): Promise<void> {
    return scalePlainDeployment(this.api, namespace, deployment, replicas, guard);
  }

  /** Reads only (snapshot.ts). */
  revisionStatus(namespace: string, deployment: string): Promise<RevisionStatus> {
    return revisionStatus(this.api, namespace, deployment);
  }

  /** Reads only (endpoints.ts). */
  endpoints(namespace: string, service: string): Promise<EndpointCounts> {
    return serviceEndpoints(this.api, namespace, service);
  }

  /** Idempotent, conditioned on the Service's resourceVersion (service-selectors.ts). */
  selectRevision(
    namespace: string,
    service: string,
    workload: string,
    revision: string,
    onlyFrom?: string,
  ): Promise<void> {
    return selectRevision(this.api, namespace, service, workload, revision, onlyFrom);
  }

  /** Idempotent (service-selectors.ts). */
  restoreSelector(namespace: string, service: string, selector: Record<string, string>): Promise<void> {
    return restoreSelector(this.api, namespace, service, selector);
  }

  /** Idempotent (hpa.ts). */
  moveHpa(namespace: string, from: string, to: string): Promise<void> {
    return moveHpa(this.api, namespace, from, to);
  }

  /** Guarded, idempotent, conditioned on uid and resourceVersion (deployment-writes.ts). */
  deleteRevision(namespace: string, deployment: string, guard: ServingGuard): Promise<void> {
    return deleteRevision(this.api, namespace, deployment, guard);
  }

  /** events.ts. */
  recordEvent(namespace: string, event: ClusterEvent): Promise<void> {
    return recordEvent(this.api, namespace, event);
  }
}
