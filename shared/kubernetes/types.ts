// What Switchyard reads from and asks of a cluster, in its own words. The Kubernetes adapter
// (shared/kubernetes/cluster.ts and the files it hands operations to) turns these into API calls;
// the engine only sees these shapes.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';

/** Where a target's cluster is: a GKE cluster resource name, or a kubeconfig context (local clusters). */
export type ClusterRef = { gke: string } | { context: string };

/** Labels and annotations that say who owns what. */
export const labels = {
  name: 'app.kubernetes.io/name',
  managedBy: 'app.kubernetes.io/managed-by',
  revision: 'switchyard.dev/revision',
} as const;
export const annotations = {
  release: 'switchyard.dev/release',
  target: 'switchyard.dev/target',
  restartedAt: 'switchyard.dev/restarted-at',
  /** On an adopted plain Deployment: the replica count it had before it was scaled to zero. */
  adoptedReplicas: 'switchyard.dev/adopted-replicas',
} as const;
export const managerName = 'switchyard';

/** A revision of a workload: one Deployment `<workload>-<revision>`. */
export interface RevisionSpec {
  namespace: string;
  workload: string;
  /** Short hash of the pod template (see revisionOf()). */
  revision: string;
  /** Pod template, already carrying the image digest and the revision labels. */
  template: V1PodTemplateSpec;
  replicas: number;
  progressDeadlineSeconds: number;
  releaseId: string;
  target: string;
}

/** What the cluster says about one revision's Deployment and its pods. */
export interface RevisionStatus {
  name: string;
  exists: boolean;
  /** spec.replicas */
  desired: number;
  /** status.readyReplicas */
  ready: number;
  /** status.availableReplicas */
  available: number;
  /** Progressing=False with reason ProgressDeadlineExceeded. */
  progressDeadlineExceeded: boolean;
  /** The image references of the template's containers, by container name. */
  images: Record<string, string>;
  /**
   * What the cluster says keeps pods from being ready (a ReplicaFailure such as an exceeded quota,
   * a container's CrashLoopBackOff, an unschedulable pod), when it says anything.
   */
  problem?: string;
}

/** The live objects of a target's workload, as found by stored names and labels (never by age). */
export interface WorkloadSnapshot {
  /** Set when the API server said the target's namespace does not exist. */
  namespaceMissing?: boolean;
  /** A plain Deployment named exactly like the workload and not managed by Switchyard, if any. */
  plainDeployment: { name: string; replicas: number; template: V1PodTemplateSpec } | null;
  /** Revision Deployments labelled with the workload's name and a revision, by revision. */
  revisions: Record<string, RevisionStatus & { revision: string; template: V1PodTemplateSpec }>;
  /** Services named in the target, with their selectors (null: the Service does not exist). */
  services: Record<string, { selector: Record<string, string> } | null>;
}

/** Ready endpoints of a Service, per revision (from EndpointSlices and the pods they point at). */
export interface EndpointCounts {
  /** Ready endpoints by the `switchyard.dev/revision` label of their pods; pods without it under "". */
  readyByRevision: Record<string, number>;
  /** All endpoints listed (ready or not), by revision. */
  totalByRevision: Record<string, number>;
}

/**
 * A router's object that sends traffic to Services of the target's namespace: the serving guard
 * reads it live before a revision is scaled to zero or deleted (see ServingGuard).
 * - `HTTPRoute` (Gateway API v1): every backendRef, in every rule, whose weight is above 0.
 * - `Ingress`: every path's backend and the default backend; when it is an ingress-nginx canary
 *   (`nginx.ingress.kubernetes.io/canary: "true"`), only while it takes traffic: a canary-weight
 *   other than 0, or a canary-by-header or canary-by-cookie rule.
 */
export interface RouteObject {
  kind: 'HTTPRoute' | 'Ingress';
  name: string;
}

/**
 * What the serving guard checks before it lets a Deployment go to zero replicas or be deleted. Both
 * parts come from the target (execute.ts servingGuardOf()), never from a release, and every guarded
 * operation takes one, so no caller can skip the check.
 */
export interface ServingGuard {
  /** The target's Services (active and preview, or stable and canary), checked whatever the routes say. */
  services: string[];
  /** The router's objects (none for blue-green and the replica-ratio router); a missing one is no reference. */
  routes: RouteObject[];
}

/**
 * The cluster operations the engine needs. Every mutation is idempotent and reads before it
 * writes: it changes nothing when the cluster already is as asked (so a redelivered step makes
 * no second change), treats "already exists" as done, and never touches objects that Switchyard
 * does not own except the selectors of the user's Services and the replica count / HPA of an
 * adopted plain Deployment.
 */
export interface Cluster {
  /** Reads the workload's plain Deployment, revisions and the named Services. */
  snapshot(namespace: string, workload: string, services: string[]): Promise<WorkloadSnapshot>;
  /**
   * Creates the revision's Deployment, or scales it up to `replicas` when it exists. Every
   * scale-down and delete below passes the serving guard: a Deployment that one of `guard.services`
   * or a Service a live `guard.routes` object sends traffic to selects, or whose endpoints one of
   * them still lists, is never scaled to zero or deleted (a ServingRefusal, kind 'in-use').
   */
  ensureRevision(spec: RevisionSpec, guard: ServingGuard): Promise<void>;
  /** Sets a revision's replica count (no-op when equal; "not found" is an error). Guarded. */
  scaleRevision(namespace: string, deployment: string, replicas: number, guard: ServingGuard): Promise<void>;
  /** Sets spec.replicas of a plain (adopted) Deployment, recording its former count once. Guarded. */
  scalePlainDeployment(
    namespace: string,
    deployment: string,
    replicas: number,
    guard: ServingGuard,
  ): Promise<void>;
  /** Reads one revision's status; `exists: false` when it is gone. */
  revisionStatus(namespace: string, deployment: string): Promise<RevisionStatus>;
  /** Counts a Service's endpoints per revision. A missing Service is an error naming it. */
  endpoints(namespace: string, service: string): Promise<EndpointCounts>;
  /**
   * Makes `service` select exactly the pods of `workload` at `revision` (the selector becomes
   * {app.kubernetes.io/name: workload, switchyard.dev/revision: revision}); no-op when it already does.
   */
  selectRevision(
    namespace: string,
    service: string,
    workload: string,
    revision: string,
    onlyFrom?: string,
  ): Promise<void>;
  /** Replaces a Service's whole selector with `selector` (an adoption undone); no-op when equal. */
  restoreSelector(namespace: string, service: string, selector: Record<string, string>): Promise<void>;
  /** Points an HPA that targets Deployment `from` at Deployment `to`; no-op without such an HPA. */
  moveHpa(namespace: string, from: string, to: string): Promise<void>;
  /**
   * Deletes a revision's Deployment once it is scaled to zero. Guarded like a scale-down; "not
   * found" is success.
   */
  deleteRevision(namespace: string, deployment: string, guard: ServingGuard): Promise<void>;
  /** Records a Kubernetes Event about an object (kubectl describe and get events show it). */
  recordEvent(namespace: string, event: ClusterEvent): Promise<void>;
}

/** A Kubernetes Event as Switchyard records them: what happened to which of its objects. */
export interface ClusterEvent {
  regarding: { kind: 'Deployment' | 'Service'; name: string };
  /** CamelCase, machine-readable (the phase entered, e.g. Switching). */
  reason: string;
  /** What Switchyard did or saw (the cause of the transition, e.g. analysis). */
  action: string;
  note: string;
  type: 'Normal' | 'Warning';
  /** Who recorded it: the function instance. */
  instance: string;
}
