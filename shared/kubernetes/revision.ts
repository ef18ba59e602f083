// Pure construction of revisions: the revision hash of a pod template, the green template of a
// release, and the Deployment that runs one revision. No I/O; deployment-writes.ts applies them.
import { createHash } from 'node:crypto';
import type { V1Deployment, V1PodTemplateSpec } from '@kubernetes/client-node';
import { invalid } from '../errors.ts';
import { splitImageRef } from '../image-ref.ts';
import { annotations, labels, managerName, type RevisionSpec } from './types.ts';

/**
 * Labels that say where a pod belongs rather than what it runs, so they stay out of the hash:
 * the revision label (it holds the hash itself), the ReplicaSet's `pod-template-hash`, and the
 * workload name label, which Switchyard adds to a plain Deployment's template at adoption (its value
 * is always the workload, so dropping it loses nothing, and a template read back from a revision
 * hashes like the plain template it came from).
 */
const unhashedLabels: readonly string[] = [labels.revision, labels.name, 'pod-template-hash'];

/**
 * The revision of a pod template: the first 10 hex digits of the SHA-256 of its canonical JSON
 * (object keys sorted, array order kept), without the labels Switchyard and the ReplicaSet
 * controller put on it. The same image and template always give the same revision, which is what
 * makes "create revision" idempotent across redelivered messages.
 */
export function revisionOf(template: V1PodTemplateSpec): string {
  // A JSON round trip turns client-node model instances and Dates into plain data first.
  const plain = JSON.parse(JSON.stringify(template ?? {})) as V1PodTemplateSpec;
  const metadata = plain.metadata;
  if (metadata?.labels) {
    for (const key of unhashedLabels) delete metadata.labels[key];
    // An emptied label map and no label map are the same template.
    if (Object.keys(metadata.labels).length === 0) delete metadata.labels;
  }
  if (metadata && Object.keys(metadata).length === 0) delete plain.metadata;
  return createHash('sha256').update(canonicalJson(plain)).digest('hex').slice(0, 10);
}

/** JSON with object keys in sorted order at every depth, so equal data gives equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    }
    return sorted;
  }
  return value;
}

/**
 * The repository of an image reference: the reference without its `@digest` and `:tag`
 * (`us-docker.pkg.dev/acme/apps/api:1.2@sha256:…` → `us-docker.pkg.dev/acme/apps/api`). A colon
 * before the last slash is a registry port, not a tag (`localhost:5000/api`).
 */
export function imageRepository(image: string): string {
  return splitImageRef(image).repository;
}

/**
 * The pod template of a new revision: a copy of the stable revision's template with `image` set on
 * the containers named in `containers`, or, when none are named, on every container whose image
 * comes from `repository`. With `restartedAt` (a `restart` release) the copy also carries the
 * restart annotation, so an unchanged image still makes a new revision. Throws an error of kind
 * 'invalid' when a named container does not exist or no container runs an image of `repository`.
 * Pure: `stable` is not modified.
 */
export function greenTemplate(
  stable: V1PodTemplateSpec,
  image: string,
  containers: string[] | undefined,
  repository: string,
  restartedAt?: string,
): V1PodTemplateSpec {
  const template = structuredClone(stable);
  const podContainers = template.spec?.containers ?? [];
  const present = podContainers.map((c) => `${c.name}=${c.image ?? '(no image)'}`).join(', ') || 'none';

  let targets: typeof podContainers;
  if (containers && containers.length > 0) {
    const missing = containers.filter((name) => !podContainers.some((c) => c.name === name));
    if (missing.length > 0) {
      throw invalid(
        `pod template has no container named ${missing.map((n) => `"${n}"`).join(', ')} (containers: ${present}): fix containers in the release target`,
      );
    }
    targets = podContainers.filter((c) => containers.includes(c.name));
  } else {
    const wanted = imageRepository(repository);
    targets = podContainers.filter((c) => c.image !== undefined && imageRepository(c.image) === wanted);
    if (targets.length === 0) {
      throw invalid(
        `no container of the pod template runs an image from "${wanted}" (containers: ${present}): name the containers to update in the release target, or fix its image repository`,
      );
    }
  }
  for (const container of targets) container.image = image;

  if (restartedAt !== undefined) {
    template.metadata = template.metadata ?? {};
    template.metadata.annotations = {
      ...template.metadata.annotations,
      [annotations.restartedAt]: restartedAt,
    };
  }
  return template;
}

/** The Deployment name of a workload's revision: `<workload>-<revision>`. */
export function deploymentName(workload: string, revision: string): string {
  return `${workload}-${revision}`;
}

/**
 * The Deployment that runs one revision. Its selector is {app.kubernetes.io/name, switchyard.dev/
 * revision}, both also set on the pod template, so the revision's pods are told apart from every
 * other revision's; it is labelled as managed by Switchyard (the only Deployments Switchyard deletes)
 * and annotated with the release and target that made it. Strategy and ReplicaSet history keep the
 * API defaults: a revision's template never changes, only its replica count.
 */
export function revisionDeployment(spec: RevisionSpec): V1Deployment {
  const selector = { [labels.name]: spec.workload, [labels.revision]: spec.revision };
  const template = structuredClone(spec.template);
  template.metadata = template.metadata ?? {};
  template.metadata.labels = { ...template.metadata.labels, ...selector };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: deploymentName(spec.workload, spec.revision),
      namespace: spec.namespace,
      labels: { ...selector, [labels.managedBy]: managerName },
      annotations: { [annotations.release]: spec.releaseId, [annotations.target]: spec.target },
    },
    spec: {
      replicas: spec.replicas,
      progressDeadlineSeconds: spec.progressDeadlineSeconds,
      selector: { matchLabels: selector },
      template,
    },
  };
}
