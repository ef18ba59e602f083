// `switchyard demo`: brings the local stack up, shows that every real part works and a blue-green
// release goes through, and brings the stack down.
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Command } from 'commander';
import { waitFor } from '../../infra/local/process.ts';
import { LocalStack, repoRoot, type StackStatus } from '../../infra/local/stack.ts';
import { releaseAct } from './demo-release.ts';

type Act = (status: StackStatus, stack: LocalStack, out: (line: string) => void) => Promise<string>;

const acts: [string, Act][] = [
  [
    'Firestore emulator: a transaction increments a counter',
    async (s) => {
      const db = new Firestore({ projectId: s.projectId, host: s.firestoreEmulatorHost!, ssl: false });
      try {
        const ref = db.collection('demo').doc('counter');
        const value = await db.runTransaction(async (tx) => {
          const next = (((await tx.get(ref)).get('value') as number | undefined) ?? 0) + 1;
          tx.set(ref, { value: next });
          return next;
        });
        return `counter is now ${value}`;
      } finally {
        await db.terminate();
      }
    },
  ],
  [
    'Pub/Sub emulator: a message goes through a topic and a subscription',
    async (s) => {
      const pubsub = new PubSub({ projectId: s.projectId, apiEndpoint: s.pubsubEmulatorHost! });
      try {
        const [topic] = await pubsub.topic('demo').get({ autoCreate: true });
        const [sub] = await topic.subscription('demo-pull').get({ autoCreate: true });
        const sent = await topic.publishMessage({ json: { hello: 'switchyard' } });
        const got = await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no message within 20 s')), 20_000);
          sub.on('message', (m) => {
            m.ack();
            if (m.id === sent) {
              clearTimeout(timer);
              resolve(m.data.toString('utf8'));
            }
          });
        });
        await sub.close();
        return `received ${got}`;
      } finally {
        await pubsub.close();
      }
    },
  ],
  [
    'Kubernetes: a Deployment of 3 replicas becomes Available on kwok nodes',
    async (s) => {
      const kc = new KubeConfig();
      kc.loadFromFile(s.kubeconfig!);
      const core = kc.makeApiClient(CoreV1Api);
      const apps = kc.makeApiClient(AppsV1Api);
      const namespace = `demo-${Date.now().toString(36)}`;
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      const labels = { 'app.kubernetes.io/name': 'hello' };
      await apps.createNamespacedDeployment({
        namespace,
        body: {
          metadata: { name: 'hello' },
          spec: {
            replicas: 3,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                containers: [{ name: 'hello', image: `registry.example/hello@sha256:${'0'.repeat(64)}` }],
              },
            },
          },
        },
      });
      const dep = await waitFor(
        async () => {
          const d = await apps.readNamespacedDeployment({ name: 'hello', namespace });
          return (d.status?.availableReplicas ?? 0) === 3 ? d : undefined;
        },
        { timeoutMs: 60_000, what: 'the demo Deployment to become Available' },
      );
      const pods = await core.listNamespacedPod({ namespace });
      const nodes = new Set(pods.items.map((p) => p.spec?.nodeName));
      await core.deleteNamespace({ name: namespace });
      return `${dep.status?.readyReplicas} ready replicas on nodes ${[...nodes].sort().join(', ')}`;
    },
  ],
  [
    'Prometheus: backfilled samples come back exactly',
    async (s, stack) => {
      const t = Date.UTC(2024, 0, 1) / 1000;
      await stack.backfillPrometheus(`# TYPE demo_ratio gauge\ndemo_ratio 0.25 ${t}\n`);
      const url = new URL('/api/v1/query', s.prometheusUrl!);
      url.searchParams.set('query', 'demo_ratio');
      url.searchParams.set('time', String(t));
      const body = (await (await fetch(url)).json()) as { data: { result: { value: [number, string] }[] } };
      const value = body.data.result[0]?.value[1];
      if (value !== '0.25') throw new Error(`expected 0.25, got ${value}`);
      return `demo_ratio = ${value}`;
    },
  ],
  [
    'Switchyard: adopt a Deployment, release v2 blue-green, promote by hand',
    (s, _stack, out) => releaseAct(s, out),
  ],
];

export function demoCommand(): Command {
  return new Command('demo')
    .description('bring the local stack up, show that every part works, bring it down')
    .option('--keep', 'leave the stack running afterwards')
    .addHelpText('after', '\nExample:\n  switchyard demo --keep')
    .action(async (opts: { keep?: boolean }) => {
      process.env.METADATA_SERVER_DETECTION ??= 'none'; // no Google metadata server on the local stack
      const stack = new LocalStack({
        stateDir: join(repoRoot, '.switchyard', 'demo'),
        projectId: 'switchyard-demo',
        log: (m) => process.stderr.write(`  ${m}\n`),
      });
      const out = (line: string) => process.stdout.write(`${line}\n`);
      let failures = 0;
      try {
        out('Starting the local stack (first run builds Kubernetes from source; later runs take seconds)');
        const status = await stack.up();
        for (const [title, act] of acts) {
          try {
            out(`▶ ${title}`);
            out(`✔ ${await act(status, stack, out)}`);
          } catch (err) {
            failures += 1;
            out(`✘ ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      } finally {
        if (!opts.keep) {
          out('Stopping the local stack');
          await stack.down();
        } else {
          out(`The stack keeps running; stop it with: switchyard dev down --state-dir ${stack.stateDir}`);
        }
      }
      out(
        failures === 0
          ? 'Demo finished: every part works.'
          : `Demo failed: ${failures} part(s) did not work.`,
      );
      if (failures > 0) process.exitCode = 1;
    });
}
