// The demo's workloads in the cluster: plain Deployments with their Services, as a team has them
// before Switchyard, and the reads the acts check the story with.
import type { V1Deployment } from '@kubernetes/client-node';
import { waitFor } from '../../../infra/local/process.ts';
import { KubernetesCluster } from '../../../shared/kubernetes/cluster.ts';
import { sampleImage } from '../../../shared/registry/image.ts';
import { type DemoContext, demoNamespace, isNotFound } from './context.ts';

export const revisionLabel = 'switchyard.dev/revision';

/** The Deployment, or null when it does not exist. */
export async function deployment(ctx: DemoContext, name: string): Promise<V1Deployment | null> {
  try {
    return await ctx.kube.apps.readNamespacedDeployment({ name, namespace: demoNamespace });
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** The revision a Service selects (`switchyard.dev/revision` of its selector; '' for none). */
export async function selectedRevision(ctx: DemoContext, service: string): Promise<string> {
  const svc = await ctx.kube.core.readNamespacedService({ name: service, namespace: demoNamespace });
  return svc.spec?.selector?.[revisionLabel] ?? '';
}

/** Creates a plain Deployment and its Services, and waits until they serve (ready endpoints). */
export async function createWorkload(
  ctx: DemoContext,
  name: string,
  image: string,
  services: string[],
  replicas = 3,
): Promise<void> {
  const labels = { 'app.kubernetes.io/name': name };
  await ctx.kube.apps.createNamespacedDeployment({
    namespace: demoNamespace,
    body: {
      metadata: { name, labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name, image, ports: [{ containerPort: 8080 }] }] },
        },
      },
    },
  });
  for (const service of services) {
    await ctx.kube.core.createNamespacedService({
      namespace: demoNamespace,
      body: {
        metadata: { name: service },
        spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
  }
  // Serving means: every replica listed ready behind the first Service.
  const cluster = new KubernetesCluster(ctx.kube.config);
  await waitFor(
    async () => {
      const counts = await cluster.endpoints(demoNamespace, services[0] ?? name);
      return (counts.readyByRevision[''] ?? 0) === replicas;
    },
    { timeoutMs: 60_000, what: `Service ${services[0]} to list ${replicas} ready endpoints of ${name}` },
  );
}

/** The sample image of a version (shared/registry/image.ts), by the digest the stack's registry gives it. */
export function imageOf(repository: string, version: number): string {
  return `${repository}@${sampleImage(version).digest}`;
}
