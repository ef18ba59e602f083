// The bench's release trains: three targets frontend -> bff -> backend (each depending on the next),
// every version pushed in reverse order (frontend first, backend last, one after the other), timed
// from the last push to the last switch (the frontend's), and from the backend's switch to the
// frontend's (what the train's order costs).

import type { Firestore } from '@google-cloud/firestore';
import type { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { localContext } from '../infra/local/components/kubernetes.ts';
import { waitFor } from '../infra/local/process.ts';
import type { Store } from '../shared/adapters/store.ts';
import { isTerminal } from '../shared/engine/phase.ts';
import type { Release } from '../shared/engine/release.ts';
import { sampleImage } from '../shared/registry/image.ts';
import { uploadImage } from '../shared/registry/upload.ts';
import { TargetStore } from '../shared/target/store.ts';
import { validateReleaseTarget } from '../shared/target/validate.ts';

export interface TrainBenchContext {
  db: Firestore;
  store: Store;
  core: CoreV1Api;
  apps: AppsV1Api;
  registryUrl: string;
  /** Prefix of the bench's names (targets, namespace, repositories). */
  name: string;
}

export interface TrainTimes {
  version: string;
  lastPushToLastSwitchMs: number;
  firstToLastSwitchMs: number;
  failed: number;
}

/** Pushed in this order; each depends on the next. */
const members = ['frontend', 'bff', 'backend'] as const;

/** Runs `trains` trains one after another and returns each one's times. */
export async function benchTrains(ctx: TrainBenchContext, trains: number): Promise<TrainTimes[]> {
  const namespace = `${ctx.name}-train`;
  await ctx.core.createNamespace({ body: { metadata: { name: namespace } } });
  await waitFor(() => ctx.core.readNamespacedServiceAccount({ name: 'default', namespace }), {
    timeoutMs: 30_000,
    what: 'the train namespace to be ready',
  });
  const repository = (m: string) => `us-docker.pkg.dev/switchyard-bench/${ctx.name}/${m}`;
  const targets = members.map((m, i) => {
    const next = members[i + 1];
    const checked = validateReleaseTarget({
      apiVersion: 'switchyard.dev/v1alpha1',
      kind: 'ReleaseTarget',
      metadata: { name: `${ctx.name}-${m}` },
      spec: {
        image: { repository: repository(m) },
        cluster: { context: localContext },
        namespace,
        workload: m,
        ...(next ? { dependsOn: [`${ctx.name}-${next}`] } : {}),
        strategy: {
          blueGreen: { activeService: m, scaleDownDelaySeconds: 0, abortScaleDownDelaySeconds: 0 },
        },
      },
    });
    if ('errors' in checked) throw new Error(JSON.stringify(checked.errors));
    return checked.target;
  });
  for (const m of members)
    await createWorkload(ctx, namespace, m, `${repository(m)}@${sampleImage(1).digest}`);
  await new TargetStore(ctx.db).apply(targets, 'bench');

  const push = (m: string, n: number) =>
    uploadImage(
      ctx.registryUrl,
      repository(m).slice(repository(m).indexOf('/') + 1),
      sampleImage(n),
      `v${n}`,
    );
  const ended = (m: string, number: number) =>
    waitFor(
      async () => {
        const r = await ctx.store.release(`${ctx.name}-${m}-${number}`);
        return r && isTerminal(r.phase) ? r : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 50, what: `release ${ctx.name}-${m}-${number}` },
    );
  // Warm-up: each member adopts its plain Deployment (not measured).
  for (const m of members) await push(m, 1);
  await Promise.all(members.map((m) => ended(m, 1)));

  const times: TrainTimes[] = [];
  for (let i = 0; i < trains; i++) {
    const n = 2 + i;
    for (const m of members) await push(m, n);
    const lastPush = Date.now();
    const done: Release[] = await Promise.all(members.map((m) => ended(m, n)));
    const switched = done.map((r) => r.switchedAt ?? Number.NaN);
    times.push({
      version: `v${n}`,
      lastPushToLastSwitchMs: Math.max(...switched) - lastPush,
      firstToLastSwitchMs: Math.max(...switched) - Math.min(...switched),
      failed: done.filter((r) => r.phase !== 'Succeeded').length,
    });
  }
  return times;
}

async function createWorkload(ctx: TrainBenchContext, namespace: string, name: string, image: string) {
  const labels = { 'app.kubernetes.io/name': name };
  await ctx.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name, labels },
      spec: {
        replicas: 3,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name, image }] } },
      },
    },
  });
  await ctx.core.createNamespacedService({
    namespace,
    body: { metadata: { name }, spec: { selector: labels, ports: [{ port: 80 }] } },
  });
}
