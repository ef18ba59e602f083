// Moving a workload's HorizontalPodAutoscaler from one Deployment to another (autoscaling/v2).
import { type ClusterApis, mergePatch } from './client.ts';
import { attempt } from './errors.ts';
import { managerName } from './types.ts';

/**
 * Idempotent: points every autoscaling/v2 HPA whose scaleTargetRef is Deployment `from` at
 * Deployment `to`; no write when there is none (e.g. already moved).
 */
export async function moveHpa(api: ClusterApis, namespace: string, from: string, to: string): Promise<void> {
  if (from === to) return;
  for (const hpa of await hpasTargeting(api, namespace, from)) {
    const name = hpa.metadata?.name ?? '';
    await attempt(`moving HorizontalPodAutoscaler "${name}" in namespace "${namespace}" to "${to}"`, () =>
      api.autoscaling.patchNamespacedHorizontalPodAutoscaler(
        { name, namespace, fieldManager: managerName, body: { spec: { scaleTargetRef: { name: to } } } },
        mergePatch,
      ),
    );
  }
}

async function hpasTargeting(api: ClusterApis, namespace: string, deployment: string) {
  const list = await attempt(`listing HorizontalPodAutoscalers in namespace "${namespace}"`, () =>
    api.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace }),
  );
  return list.items.filter(
    (h) => h.spec?.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === deployment,
  );
}
