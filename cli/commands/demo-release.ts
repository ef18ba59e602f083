// The demo's release act: a plain Deployment is adopted and v2 is released blue-green with a
// manual promote, through the real functions of the local stack.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { waitFor } from '../../infra/local/process.ts';
import { repoRoot, type StackStatus, stackEnv } from '../../infra/local/stack.ts';
import { firestoreClient, pubsubClient } from '../../shared/adapters/clients.ts';
import { Store } from '../../shared/adapters/store.ts';
import { config } from '../../shared/config.ts';
import type { Release } from '../../shared/engine/release.ts';
import type { ControlMessage } from '../../shared/messages.ts';
import { parseReleaseTargets } from '../../shared/target/schema.ts';
import { TargetStore } from '../../shared/target/store.ts';
import { artifactRegistryTopic, topology } from '../../shared/topology.ts';

const example = join(repoRoot, 'examples', 'local-demo.yaml');

export async function releaseAct(status: StackStatus, out: (line: string) => void): Promise<string> {
  Object.assign(process.env, stackEnv(status));
  const parsed = parseReleaseTargets(readFileSync(example, 'utf8'), example);
  if ('errors' in parsed)
    throw new Error(`examples/local-demo.yaml is invalid: ${parsed.errors[0]?.message}`);
  const target = parsed.targets[0]!;
  const { namespace, workload } = target.spec;
  const repository = target.spec.image.repository;
  const image = (n: number) => `${repository}@sha256:${String(n).padStart(64, '0')}`;

  const kc = new KubeConfig();
  kc.loadFromFile(status.kubeconfig!);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const labels = { 'app.kubernetes.io/name': workload };
  await core.createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);
  await waitFor(() => core.readNamespacedServiceAccount({ name: 'default', namespace }), {
    timeoutMs: 30_000,
    what: 'namespace demo',
  });
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: workload, labels },
      spec: {
        replicas: 3,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: workload, image: image(1) }] } },
      },
    },
  });
  for (const name of [
    target.spec.strategy.blueGreen?.activeService,
    target.spec.strategy.blueGreen?.previewService,
  ]) {
    if (name)
      await core.createNamespacedService({
        namespace,
        body: { metadata: { name }, spec: { selector: labels, ports: [{ port: 80 }] } },
      });
  }
  out(`    a plain Deployment ${workload} (v1, 3 replicas) and its Services run in namespace ${namespace}`);

  const cfg = config();
  const db = firestoreClient(cfg);
  const store = new Store(db);
  const pubsub = pubsubClient(cfg);
  try {
    await new TargetStore(db).apply([target], 'demo');
    out(`    switchyard apply -f examples/local-demo.yaml: target ${target.metadata.name}`);
    await pubsub.topic(artifactRegistryTopic).publishMessage({
      json: { action: 'INSERT', digest: image(2), tag: `${repository}:v2` },
    });
    out('    switchyard push …@sha256:…0002 --tag v2');
    const id = `${target.metadata.name}-${(await store.workload(target.metadata.name)).releases + 1}`;
    let shown = 0;
    const follow = (done: (r: Release) => boolean) =>
      waitFor(
        async () => {
          const r = await store.release(id);
          for (const h of r?.history.slice(shown) ?? []) {
            const what =
              h.from === h.to
                ? `${h.to}: ${h.reason ?? h.commands?.join(', ') ?? ''}`
                : `${h.from ?? '-'} -> ${h.to}${h.reason ? ` (${h.reason})` : ''}`;
            out(`    ${id}: ${what}`);
          }
          shown = r?.history.length ?? 0;
          return r && done(r) ? r : undefined;
        },
        { timeoutMs: 120_000, what: `release ${id}` },
      );
    const waiting = await follow((r) => r.phase === 'AwaitingPromotion');
    const promote: ControlMessage = {
      command: 'promote',
      target: target.metadata.name,
      full: false,
      requestedBy: 'demo',
      reason: 'preview checked',
      requestId: randomUUID(),
    };
    await pubsub.topic(topology().controlTopic).publishMessage({ json: promote });
    out('    switchyard promote demo-api');
    const done = await follow(
      (r) => r.phase === 'Succeeded' || r.phase === 'Failed' || r.phase === 'RolledBack',
    );
    if (done.phase !== 'Succeeded') throw new Error(`release ${id} ended ${done.phase}: ${done.reason}`);
    return `${id} Succeeded: ${target.spec.strategy.blueGreen?.activeService} now selects ${waiting.green!.deployment} (v2)`;
  } finally {
    await pubsub.close();
    await db.terminate();
  }
}
