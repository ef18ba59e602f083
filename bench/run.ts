// npm run bench -- [--out report.json] [--releases 20] [--trains 5] [--keep]
//
// Runs blue-green releases (no analysis, zero delays) one after another on the local stack and
// reports: time from push published to active Service switched, publish-to-start time of every step
// hand-over, and per release the function invocations, Firestore reads and writes, Pub/Sub
// publishes and Kubernetes API calls (summed from the functions' own cost lines in their logs).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { localContext } from '../infra/local/components/kubernetes.ts';
import { waitFor } from '../infra/local/process.ts';
import { LocalStack, repoRoot, stackEnv } from '../infra/local/stack.ts';
import { firestoreClient, pubsubClient } from '../shared/adapters/clients.ts';
import { Store } from '../shared/adapters/store.ts';
import { config } from '../shared/config.ts';
import { isTerminal } from '../shared/engine/phase.ts';
import type { Release } from '../shared/engine/release.ts';
import { sampleImage } from '../shared/registry/image.ts';
import { uploadImage } from '../shared/registry/upload.ts';
import type { InvocationMetrics } from '../shared/runtime/metrics.ts';
import { TargetStore } from '../shared/target/store.ts';
import { validateReleaseTarget } from '../shared/target/validate.ts';
import { stepNames } from '../shared/topology.ts';
import { benchTrains } from './train.ts';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string' },
    releases: { type: 'string', default: '20' },
    trains: { type: 'string', default: '5' },
    keep: { type: 'boolean', default: false },
  },
});
const count = Number(args.releases);
const timerReleases = 5;
const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : Number.NaN;
};
const stats = (xs: number[]) => ({
  p50: percentile(xs, 50),
  p95: percentile(xs, 95),
  max: Math.max(...xs),
  n: xs.length,
});

const stateDir = join(repoRoot, '.switchyard', 'bench');
const stack = new LocalStack({ stateDir, projectId: 'switchyard-bench', log: (m) => say(m) });
const status = await stack.up();
Object.assign(process.env, stackEnv(status));
const cfg = config();
const db = firestoreClient(cfg);
const store = new Store(db);
const pubsub = pubsubClient(cfg);
const kc = new KubeConfig();
kc.loadFromFile(status.kubeconfig!);
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);

const name = `bench-${Date.now().toString(36)}`;
const namespace = name;
const repository = `us-docker.pkg.dev/switchyard-bench/${name}/api`;
// Real images in the stack's registry: the registry's own notification starts each release.
const registryName = repository.slice(repository.indexOf('/') + 1);
const image = (n: number) => `${repository}@${sampleImage(n).digest}`;
const labels = { 'app.kubernetes.io/name': 'api' };

try {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await waitFor(() => core.readNamespacedServiceAccount({ name: 'default', namespace }), {
    timeoutMs: 30_000,
    what: 'the namespace to be ready',
  });
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'api', labels },
      spec: {
        replicas: 3,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'api', image: image(1) }] } },
      },
    },
  });
  await core.createNamespacedService({
    namespace,
    body: { metadata: { name: 'api' }, spec: { selector: labels, ports: [{ port: 80 }] } },
  });
  const applyTarget = async (blueGreen: Record<string, unknown> = {}) => {
    const checked = validateReleaseTarget({
      apiVersion: 'switchyard.dev/v1alpha1',
      kind: 'ReleaseTarget',
      metadata: { name },
      spec: {
        image: { repository },
        cluster: { context: localContext },
        namespace,
        workload: 'api',
        strategy: {
          blueGreen: {
            activeService: 'api',
            scaleDownDelaySeconds: 0,
            abortScaleDownDelaySeconds: 0,
            ...blueGreen,
          },
        },
      },
    });
    if ('errors' in checked) throw new Error(JSON.stringify(checked.errors));
    await new TargetStore(db).apply([checked.target], 'bench');
  };
  await applyTarget();

  const release = async (n: number, number: number): Promise<{ release: Release; publishedAt: number }> => {
    const sample = sampleImage(n);
    const publishedAt = Date.now();
    await uploadImage(status.registryUrl!, registryName, sample, `v${n}`);
    const id = `${name}-${number}`;
    const done = await waitFor(
      async () => {
        const r = await store.release(id);
        return r && isTerminal(r.phase) ? r : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 50, what: `release ${id}` },
    );
    return { release: done, publishedAt };
  };

  say('warm-up: the first release adopts the plain Deployment (not measured)');
  await release(2, 1);
  const measured: { release: Release; publishedAt: number }[] = [];
  for (let i = 0; i < count; i++) {
    const r = await release(3 + i, 2 + i);
    measured.push(r);
    say(
      `release ${r.release.id}: ${r.release.phase}, switched ${(r.release.switchedAt ?? Number.NaN) - r.publishedAt} ms after the push`,
    );
  }
  // Durable timers: releases that wait autoPromotionSeconds before they switch. How late the timer
  // fires is the time from its due moment to the transition it caused.
  const timerSeconds = 2;
  await applyTarget({ autoPromotionSeconds: timerSeconds });
  const lateness: number[] = [];
  for (let i = 0; i < timerReleases; i++) {
    const { release: r } = await release(3 + count + i, 2 + count + i);
    const waited = r.history.find((h) => h.to === 'AwaitingPromotion');
    const fired = r.history.find((h) => h.to === 'Switching' && h.cause === 'timer');
    if (waited && fired) lateness.push(fired.at - (waited.at + timerSeconds * 1000));
  }
  say(`timers: fired ${lateness.map((l) => `${l} ms`).join(', ')} after their due time`);
  const trains = await benchTrains(
    { db, store, core, apps, registryUrl: status.registryUrl!, name },
    Number(args.trains),
  );
  for (const t of trains)
    say(
      `train ${t.version}: last push -> last switch ${t.lastPushToLastSwitchMs} ms, first -> last switch ${t.firstToLastSwitchMs} ms`,
    );
  // Let the last cost lines reach the logs (release events are delivered after the release ends).
  await new Promise((r) => setTimeout(r, 3000));

  interface CostLine extends InvocationMetrics {
    message: string;
    topic: string;
    deliveryMs?: number;
  }
  const lines: CostLine[] = [];
  const logs = join(stateDir, 'logs');
  for (const file of readdirSync(logs).filter((f) => f.startsWith('function-'))) {
    for (const line of readFileSync(join(logs, file), 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const j = JSON.parse(line) as CostLine;
        if (j.message?.endsWith('invocation done')) lines.push(j);
      } catch {
        // not a log line of ours
      }
    }
  }
  const ids = new Set(measured.map((m) => m.release.id));
  const mine = lines.filter((l) => l.releaseIds?.some((id) => ids.has(id)));
  const stepTopics = new Set(stepNames.map((s) => `switchyard-${s}`));
  const hops = mine
    .filter((l) => stepTopics.has(l.topic) && l.deliveryMs !== undefined)
    .map((l) => l.deliveryMs!);
  const sum = (k: keyof InvocationMetrics) =>
    mine.reduce((a, l) => a + (l[k] as number), 0) / measured.length;

  const byFunction: Record<string, number> = {};
  for (const l of mine) {
    const fn = (l as CostLine & { function?: string }).function ?? '?';
    byFunction[fn] = (byFunction[fn] ?? 0) + 1;
  }
  for (const fn of Object.keys(byFunction))
    byFunction[fn] = Math.round((byFunction[fn]! / measured.length) * 10) / 10;
  const report = {
    releases: measured.length,
    failed: measured.filter((m) => m.release.phase !== 'Succeeded').length,
    pushToSwitchedMs: stats(measured.map((m) => (m.release.switchedAt ?? Number.NaN) - m.publishedAt)),
    pushToSucceededMs: stats(measured.map((m) => m.release.updatedAt - m.publishedAt)),
    stepHopMs: stats(hops),
    timerLatenessMs: stats(lateness),
    trains: {
      trains: trains.length,
      failedReleases: trains.reduce((a, t) => a + t.failed, 0),
      lastPushToLastSwitchMs: stats(trains.map((t) => t.lastPushToLastSwitchMs)),
      firstToLastSwitchMs: stats(trains.map((t) => t.firstToLastSwitchMs)),
    },
    perRelease: {
      functionInvocations: mine.length / measured.length,
      invocationsByFunction: byFunction,
      firestoreReads: sum('firestoreReads'),
      firestoreWrites: sum('firestoreWrites'),
      pubsubPublishes: sum('pubsubPublishes'),
      kubernetesCalls: sum('kubernetesReads') + sum('kubernetesWrites'),
      kubernetesReads: sum('kubernetesReads'),
      kubernetesWrites: sum('kubernetesWrites'),
    },
    notes: [
      'One target, releases one after another, no analysis, scaleDownDelaySeconds 0, on the local stack (2 cores).',
      "pubsubPublishes counts Switchyard's own hand-overs and release events; the push is the bench's upload of the image's manifest to the stack's registry, whose notification the stack turns into Artifact Registry's message.",
      `timerLatenessMs: ${timerReleases} more releases with autoPromotionSeconds ${timerSeconds}: due time to the timer's transition.`,
      'trains: three targets frontend -> bff -> backend (each depends on the next), each version pushed frontend first and backend last; lastPushToLastSwitchMs: the backend push to the frontend switch; firstToLastSwitchMs: backend switch to frontend switch.',
    ],
  };
  const text = `${JSON.stringify(report, null, 2)}\n`;
  if (args.out) writeFileSync(args.out, text);
  process.stdout.write(text);
  if (report.failed > 0 || report.trains.failedReleases > 0) process.exitCode = 1;
} finally {
  await pubsub.close();
  await db.terminate();
  if (!args.keep) await stack.down();
}
