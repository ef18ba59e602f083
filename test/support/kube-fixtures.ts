// Small builders of the user's objects (plain Deployment, Service, HPA) and of revision specs for
// tests of the Kubernetes adapter, plus a per-test namespace. Built by code, not copied YAML.
import {
  NetworkingV1Api,
  type V1Deployment,
  type V1PodTemplateSpec,
  type V1Service,
  type V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { TestContext } from 'vitest';
import { revisionOf } from '../../shared/kubernetes/revision.ts';
import type { RevisionSpec } from '../../shared/kubernetes/types.ts';
import { createTestNamespace, deleteNamespace, type KubeClients } from './kube.ts';

/** The image repository of the fixtures' app container. */
export const appRepository = 'switchyard.local/app';

/** A digest-pinned image of the fixtures' app (`n` picks a distinct fake digest). */
export function appImage(n: number): string {
  return `${appRepository}@sha256:${n.toString(16).padStart(64, '0')}`;
}

/** A fresh namespace for one test, deleted when the test ends (pass or fail). */
export async function testNamespace(ctx: TestContext, kube: KubeClients, prefix: string): Promise<string> {
  const ns = await createTestNamespace(prefix, kube);
  ctx.onTestFinished(() => deleteNamespace(ns, kube));
  return ns;
}

/** The pod template of a user's app `app`: one container `app` (plus a sidecar not from the repository). */
export function appTemplate(app: string, image = appImage(1)): V1PodTemplateSpec {
  return {
    metadata: { labels: { app } },
    spec: {
      containers: [
        { name: 'app', image, ports: [{ containerPort: 8080 }] },
        { name: 'sidecar', image: 'switchyard.local/sidecar:1' },
      ],
      terminationGracePeriodSeconds: 0,
    },
  };
}

/** A user's plain Deployment `name` selecting `app: name`, as it exists before Switchyard adopts it. */
export function plainDeployment(name: string, replicas: number, template = appTemplate(name)): V1Deployment {
  return {
    metadata: { name, labels: { app: name } },
    spec: { replicas, selector: { matchLabels: { app: name } }, template },
  };
}

/** A user's ClusterIP Service `name` with the given selector. */
export function service(name: string, selector: Record<string, string>): V1Service {
  return {
    metadata: { name },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

/** An autoscaling/v2 HPA `name` scaling Deployment `target` between `min` and `max` on CPU. */
export function hpa(name: string, target: string, min = 2, max = 5): V2HorizontalPodAutoscaler {
  return {
    metadata: { name },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
      minReplicas: min,
      maxReplicas: max,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
        },
      ],
    },
  };
}

/** The spec of a revision of `workload` running `template`, its revision computed like the engine does. */
export function revisionSpec(
  namespace: string,
  workload: string,
  template: V1PodTemplateSpec,
  replicas = 1,
): RevisionSpec {
  return {
    namespace,
    workload,
    revision: revisionOf(template),
    template,
    replicas,
    progressDeadlineSeconds: 60,
    releaseId: `release-${workload}`,
    target: workload,
  };
}

/** The user's NGINX Ingress `api` for host api.example.com, sending / to Service `service`. */
export async function createStableIngress(
  kube: KubeClients,
  namespace: string,
  service = 'api',
): Promise<void> {
  await kube.kubeConfig.makeApiClient(NetworkingV1Api).createNamespacedIngress({
    namespace,
    body: {
      metadata: { name: 'api' },
      spec: {
        ingressClassName: 'nginx',
        rules: [
          {
            host: 'api.example.com',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: service, port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    },
  });
}
