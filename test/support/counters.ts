// Test instruments on real infrastructure: a Kubernetes change counter (watches) and a Pub/Sub
// duplicator that publishes every message of one target a second time.
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import { Watch } from '@kubernetes/client-node';
import type { KubeClients } from './kube.ts';

export interface ChangeCounts {
  deploymentsCreated: string[];
  /** Deployment spec changes (metadata.generation went up), as `name@generation`. */
  deploymentSpecChanges: string[];
  /** Service selector changes, as `name -> revision`. */
  selectorChanges: string[];
}

/** Counts the changes Switchyard makes in a namespace from now on, through watches. */
export async function countChanges(kube: KubeClients, namespace: string) {
  const counts: ChangeCounts = { deploymentsCreated: [], deploymentSpecChanges: [], selectorChanges: [] };
  const generation = new Map<string, number>();
  const selector = new Map<string, string>();
  const deployments = await kube.apps.listNamespacedDeployment({ namespace });
  for (const d of deployments.items) generation.set(d.metadata!.name!, d.metadata?.generation ?? 0);
  const services = await kube.core.listNamespacedService({ namespace });
  for (const s of services.items) selector.set(s.metadata!.name!, JSON.stringify(s.spec?.selector ?? {}));
  const watch = new Watch(kube.kubeConfig);
  const requests = await Promise.all([
    watch.watch(
      `/apis/apps/v1/namespaces/${namespace}/deployments`,
      { resourceVersion: deployments.metadata?.resourceVersion },
      (type, obj: { metadata: { name: string; generation?: number } }) => {
        const name = obj.metadata.name;
        const gen = obj.metadata.generation ?? 0;
        if (type === 'ADDED' && !generation.has(name)) counts.deploymentsCreated.push(name);
        else if (type === 'MODIFIED' && gen > (generation.get(name) ?? 0))
          counts.deploymentSpecChanges.push(`${name}@${gen}`);
        generation.set(name, gen);
      },
      () => undefined,
    ),
    watch.watch(
      `/api/v1/namespaces/${namespace}/services`,
      { resourceVersion: services.metadata?.resourceVersion },
      (type, obj: { metadata: { name: string }; spec?: { selector?: Record<string, string> } }) => {
        const now = JSON.stringify(obj.spec?.selector ?? {});
        if (type === 'MODIFIED' && now !== selector.get(obj.metadata.name)) {
          counts.selectorChanges.push(
            `${obj.metadata.name} -> ${obj.spec?.selector?.['switchyard.dev/revision'] ?? '(none)'}`,
          );
        }
        selector.set(obj.metadata.name, now);
      },
      () => undefined,
    ),
  ]);
  return {
    counts,
    stop() {
      for (const r of requests) r.abort();
    },
  };
}

/**
 * Publishes every message of the given topics that concerns `match` a second time (a new message,
 * so it is a duplicate Pub/Sub itself cannot recognise). Copies carry the attribute `duplicate`.
 */
export async function duplicateMessages(
  pubsub: PubSub,
  topics: string[],
  id: string,
  match: (m: Message) => boolean,
) {
  const subs: Subscription[] = [];
  let duplicated = 0;
  for (const topic of topics) {
    const [sub] = await pubsub.topic(topic).createSubscription(`${id}-dup-${topic}`.slice(0, 250));
    sub.on('message', (m: Message) => {
      m.ack();
      if (m.attributes.duplicate || !match(m)) return;
      duplicated += 1;
      void pubsub
        .topic(topic)
        .publishMessage({ data: m.data, attributes: { ...m.attributes, duplicate: 'true' } });
    });
    subs.push(sub);
  }
  return {
    get duplicated() {
      return duplicated;
    },
    async stop() {
      for (const s of subs) {
        await s.close();
        await s.delete();
      }
    },
  };
}
