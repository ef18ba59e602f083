// Pub/Sub push subscriptions on the emulator really drive functions-framework CloudEvent functions,
// redeliver when a function fails, and dead-letter after the allowed number of attempts.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FunctionState, hostFunction, stopFunction } from '../../infra/local/components/functions.ts';
import { repoRoot, stackEnv } from '../../infra/local/stack.ts';
import { testPubSub } from '../support/clients.ts';
import { type Receiver, startReceiver } from '../support/receiver.ts';
import { stack, uniqueId } from '../support/stack.ts';

interface Report {
  type: string;
  source: string;
  messageId: string;
  attributes: Record<string, string>;
  data: { n: number; fail?: boolean };
}

describe('Pub/Sub emulator and functions-framework', () => {
  const pubsub = testPubSub();
  const id = uniqueId('probe');
  const topic = `${id}-steps`;
  const deadLetterTopic = `${id}-dead`;
  let receiver: Receiver;
  let fn: FunctionState;

  beforeAll(async () => {
    receiver = await startReceiver();
    const s = stack();
    fn = await hostFunction(
      { stateDir: s.stateDir, projectId: s.projectId, env: stackEnv({ ...s }) },
      {
        name: 'probe',
        source: join(repoRoot, 'test/fixtures/functions/probe.ts'),
        triggers: [{ topic, subscription: `${id}-push` }],
        deadLetterTopic,
        maxDeliveryAttempts: 5,
      },
    );
    await pubsub.createSubscription(deadLetterTopic, `${id}-dead-pull`);
  });

  afterAll(async () => {
    await stopFunction(fn);
    await receiver.close();
    await pubsub.close();
  });

  const reports = (n: number) => (receiver.received as Report[]).filter((r) => r.data.n === n);

  it('delivers a published message to the CloudEvent function once', async () => {
    const messageId = await pubsub.topic(topic).publishMessage({
      json: { n: 1, reportTo: receiver.url },
      attributes: { target: 'api' },
    });
    await receiver.until(() => reports(1).length > 0, 30_000, 'the probe function to report message 1');
    const [report] = reports(1);
    expect(report).toMatchObject({
      type: 'google.cloud.pubsub.topic.v1.messagePublished',
      source: `//pubsub.googleapis.com/projects/${stack().projectId}/topics/${topic}`,
      messageId,
      attributes: { target: 'api' },
    });
  });

  it('redelivers to a failing function and dead-letters the message after maxDeliveryAttempts', async () => {
    const messageId = await pubsub
      .topic(topic)
      .publishMessage({ json: { n: 2, fail: true, reportTo: receiver.url } });

    const [dead] = await new Promise<[import('@google-cloud/pubsub').Message]>((resolve, reject) => {
      const sub = pubsub.subscription(`${id}-dead-pull`);
      const timer = setTimeout(() => {
        void sub.close();
        reject(new Error('no message on the dead-letter topic within 90 s'));
      }, 90_000);
      sub.on('message', (m: import('@google-cloud/pubsub').Message) => {
        m.ack();
        clearTimeout(timer);
        void sub.close().then(() => resolve([m]));
      });
      sub.on('error', reject);
    });

    expect(JSON.parse(dead.data.toString('utf8'))).toMatchObject({ n: 2, fail: true });
    expect(dead.attributes.CloudPubSubDeadLetterSourceSubscription).toContain(`${id}-push`);
    expect(reports(2).length).toBeGreaterThanOrEqual(5);
    expect(new Set(reports(2).map((r) => r.messageId))).toEqual(new Set([messageId]));
  });
});
