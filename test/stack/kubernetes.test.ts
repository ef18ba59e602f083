// The local cluster behaves like the parts of GKE Switchyard relies on: Deployments roll out onto
// (simulated) nodes, Services get EndpointSlices, and the kwok stages make pods slow, broken,
// crash-looping or finishing on purpose. Each test works in its own namespace.
import type { V1Deployment, V1Job, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { beforeAll, describe, expect, type TestContext, test } from 'vitest';
import {
  kwokNodeLabel,
  type PodStage,
  podStages,
  stageAnnotations,
  stageLabel,
} from '../../infra/local/components/kubernetes.ts';
import { waitFor } from '../../infra/local/process.ts';
import {
  createTestNamespace,
  deleteNamespace,
  findCondition,
  isPodReady,
  type KubeClients,
  kubeClients,
  waitForDeploymentAvailable,
  waitForDeploymentCondition,
  waitForJobFinished,
  waitForPod,
  waitForPods,
} from '../support/kube.ts';
import { stack } from '../support/stack.ts';

let kube: KubeClients;

beforeAll(() => {
  kube = kubeClients(stack().kubeconfig);
});

/** A fresh namespace for one test, deleted when the test ends (pass or fail). */
async function testNamespace(ctx: TestContext, prefix: string): Promise<string> {
  const ns = await createTestNamespace(prefix, kube);
  ctx.onTestFinished(() => deleteNamespace(ns, kube));
  return ns;
}

function podSpec(extra: Partial<V1PodSpec> = {}): V1PodSpec {
  return {
    containers: [{ name: 'app', image: 'switchyard.local/app:1', ports: [{ containerPort: 8080 }] }],
    terminationGracePeriodSeconds: 0,
    ...extra,
  };
}

function labelsFor(app: string, stage?: PodStage): Record<string, string> {
  return stage ? { app, [stageLabel]: stage } : { app };
}

function deployment(
  name: string,
  replicas: number,
  stage?: PodStage,
  progressDeadlineSeconds?: number,
): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      progressDeadlineSeconds,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: labelsFor(name, stage) }, spec: podSpec() },
    },
  };
}

function pod(name: string, stage: PodStage, annotations?: Record<string, string>): V1Pod {
  return { metadata: { name, labels: labelsFor(name, stage), annotations }, spec: podSpec() };
}

function job(name: string, stage: PodStage): V1Job {
  return {
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: { metadata: { labels: labelsFor(name, stage) }, spec: podSpec({ restartPolicy: 'Never' }) },
    },
  };
}

/** Seconds between two API timestamps (the API server keeps whole seconds). */
function secondsBetween(from: Date | undefined, to: Date | undefined): number {
  return (new Date(to ?? 0).getTime() - new Date(from ?? 0).getTime()) / 1000;
}

describe.concurrent('local Kubernetes cluster (kwok)', () => {
  test('a Deployment of 3 replicas becomes Available on kwok nodes and its Service gets 3 ready endpoints', async (ctx) => {
    const ns = await testNamespace(ctx, 'kube-deploy');
    await kube.apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', 3) });
    await kube.core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    });

    const d = await waitForDeploymentAvailable(kube, ns, 'web');
    expect(d.status?.readyReplicas).toBe(3);

    const pods = await waitForPods(kube, ns, 'app=web', (ps) => ps.length === 3 && ps.every(isPodReady), {
      what: 'to be 3 Ready pods',
    });
    const kwokNodes = await kube.core.listNode({
      labelSelector: `${kwokNodeLabel.key}=${kwokNodeLabel.value}`,
    });
    const kwokNodeNames = new Set(kwokNodes.items.map((n) => n.metadata?.name));
    for (const p of pods) {
      expect(isPodReady(p)).toBe(true);
      expect(kwokNodeNames.has(p.spec?.nodeName)).toBe(true);
      expect(p.status?.podIP).toBeTruthy();
    }

    // The EndpointSlice controller lags the pods a little: wait for it to list all three.
    const readyAddresses = await waitFor(
      async () => {
        const slices = await kube.discovery.listNamespacedEndpointSlice({
          namespace: ns,
          labelSelector: 'kubernetes.io/service-name=web',
        });
        const ready = slices.items
          .flatMap((s) => s.endpoints ?? [])
          .filter((e) => e.conditions?.ready === true)
          .flatMap((e) => e.addresses);
        return ready.length === 3 ? ready : undefined;
      },
      { timeoutMs: 30_000, what: 'EndpointSlices of service web to list 3 ready endpoints' },
    );
    expect(new Set(readyAddresses)).toEqual(new Set(pods.map((p) => p.status?.podIP)));
  });

  test('a Deployment of never-ready pods reports ProgressDeadlineExceeded', async (ctx) => {
    const ns = await testNamespace(ctx, 'kube-never');
    await kube.apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('broken', 2, podStages.neverReady, 5),
    });

    const condition = await waitForDeploymentCondition(
      kube,
      ns,
      'broken',
      { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' },
      { timeoutMs: 45_000 },
    );
    expect(condition.reason).toBe('ProgressDeadlineExceeded');

    const d = await kube.apps.readNamespacedDeployment({ name: 'broken', namespace: ns });
    expect(d.status?.readyReplicas ?? 0).toBe(0);
    const pods = (await kube.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=broken' })).items;
    expect(pods).toHaveLength(2);
    for (const p of pods) {
      expect(p.status?.phase).toBe('Running');
      expect(isPodReady(p)).toBe(false);
    }
  });

  test('a crash-looping pod shows CrashLoopBackOff and a growing restart count', async (ctx) => {
    const ns = await testNamespace(ctx, 'kube-crash');
    await kube.core.createNamespacedPod({ namespace: ns, body: pod('crasher', podStages.crashLoop) });

    const restarts = (p: V1Pod) => p.status?.containerStatuses?.[0]?.restartCount ?? 0;
    const first = await waitForPod(kube, ns, 'crasher', (p) => restarts(p) > 0, { what: 'to restart' });
    const status = first.status?.containerStatuses?.[0];
    expect(status?.state?.waiting?.reason).toBe('CrashLoopBackOff');
    expect(status?.lastState?.terminated?.exitCode).toBe(1);
    expect(isPodReady(first)).toBe(false);

    const later = await waitForPod(kube, ns, 'crasher', (p) => restarts(p) > restarts(first), {
      what: 'to restart again',
    });
    expect(later.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('CrashLoopBackOff');
    expect(isPodReady(later)).toBe(false);
  });

  test('a job-succeed Job completes and a job-fail Job fails', async (ctx) => {
    const ns = await testNamespace(ctx, 'kube-jobs');
    await kube.batch.createNamespacedJob({ namespace: ns, body: job('good', podStages.jobSucceed) });
    await kube.batch.createNamespacedJob({ namespace: ns, body: job('bad', podStages.jobFail) });

    const [good, bad] = await Promise.all([
      waitForJobFinished(kube, ns, 'good'),
      waitForJobFinished(kube, ns, 'bad'),
    ]);
    expect(good.type).toBe('Complete');
    expect(bad.type).toBe('Failed');
    expect(bad.reason).toBe('BackoffLimitExceeded');

    const goodPods = await kube.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=good' });
    expect(goodPods.items.map((p) => p.status?.phase)).toEqual(['Succeeded']);
    const badPods = await kube.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=bad' });
    expect(badPods.items.map((p) => p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode)).toEqual([
      1,
    ]);
  });

  test('ready-after-delay pods become Ready only after their delay', async (ctx) => {
    const ns = await testNamespace(ctx, 'kube-slow');
    await kube.core.createNamespacedPod({
      namespace: ns,
      body: pod('slow', podStages.readyAfterDelay, { [stageAnnotations.readyAfterSeconds]: '4' }),
    });

    const running = await waitForPod(kube, ns, 'slow', (p) => p.status?.phase === 'Running', {
      what: 'to run',
    });
    expect(isPodReady(running)).toBe(false);
    expect(running.status?.containerStatuses?.[0]?.state?.running).toBeTruthy();

    const ready = await waitForPod(kube, ns, 'slow', isPodReady, { what: 'to become Ready' });
    const readyAt = findCondition(ready.status?.conditions, 'Ready')?.lastTransitionTime;
    // 4 s delay, timestamps truncated to whole seconds: at least 3 s apart.
    expect(secondsBetween(ready.metadata?.creationTimestamp, readyAt)).toBeGreaterThanOrEqual(3);
  });

  test('fail-after-ready pods go Ready, then NotReady while still Running', async (ctx) => {
    const ns = await testNamespace(ctx, 'kube-flaky');
    await kube.core.createNamespacedPod({
      namespace: ns,
      body: pod('flaky', podStages.failAfterReady, { [stageAnnotations.failAfterSeconds]: '3' }),
    });

    await waitForPod(kube, ns, 'flaky', isPodReady, { what: 'to become Ready' });
    const failed = await waitForPod(
      kube,
      ns,
      'flaky',
      (p) => findCondition(p.status?.conditions, 'Ready')?.status === 'False',
      { what: 'to become NotReady' },
    );
    expect(failed.status?.phase).toBe('Running');
    expect(failed.status?.containerStatuses?.[0]?.ready).toBe(false);
  });
});
