// Input that must be refused, through the real functions on the local stack: a control message
// with an unknown field or an id no Firestore document may have, and a push over the size limit.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/process.ts';
import type { PushRecord } from '../../shared/adapters/store.ts';
import { topology } from '../../shared/topology.ts';
import { testPubSub } from '../support/clients.ts';
import { releaseHarness } from '../support/harness.ts';
import { stack, uniqueId } from '../support/stack.ts';

const { start } = releaseHarness();

/** The JSON lines a function of the stack has logged so far. */
function functionLog(name: string): Record<string, unknown>[] {
  const text = readFileSync(join(stack().stateDir, 'logs', `function-${name}.log`), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Waits for the control function's line about the malformed message with this request id. */
function malformedLine(requestId: string): Promise<Record<string, unknown>> {
  return waitFor(
    async () =>
      functionLog('control').find(
        (l) =>
          (l.fields as { message?: { requestId?: unknown } } | undefined)?.message?.requestId === requestId,
      ),
    { timeoutMs: 30_000, what: `the control function's line about request ${requestId}` },
  );
}

describe('strict input', () => {
  it('a control message with a misspelt field or a bad id is refused by name, and promotes nothing', async () => {
    const f = await start('strict-ctl', { blueGreen: { autoPromotionEnabled: false } });
    await f.push(2);
    const waiting = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    const pubsub = testPubSub();
    try {
      const control = pubsub.topic(topology().controlTopic);
      const send = async (fields: Record<string, unknown>) => {
        const requestId = `req-${uniqueId('strict')}`;
        const message = { command: 'promote', target: f.name, requestedBy: 'test@switchyard', requestId };
        await control.publishMessage({ json: { ...message, ...fields } });
        return requestId;
      };
      const typo = await send({ ful: true });
      const slash = await send({ release: `${waiting.id}/x` });
      const dots = await send({ release: '..' });

      const line = await malformedLine(typo);
      expect(line).toMatchObject({
        severity: 'WARNING',
        message:
          'malformed control message: ful: unknown field (did you mean full?); a control message has only command, target, release, full, requestedBy, reason, requestId, idToken',
        fields: { message: { ful: true, requestId: typo } },
      });
      expect((await malformedLine(slash)).message).toMatch(
        /^malformed control message: release: must not contain "\/": a release id is/,
      );
      expect((await malformedLine(dots)).message).toMatch(
        /^malformed control message: release: must not be "\.\."/,
      );
      // Each is answered under its request id, so whoever sent it learns why.
      // The answer is stored after the line is logged, so it is waited for.
      for (const requestId of [typo, slash, dots]) {
        const answer = await waitFor(async () => (await f.store.requestRef(requestId).get()).data(), {
          timeoutMs: 30_000,
          what: `the answer to request ${requestId}`,
        });
        expect(answer).toMatchObject({
          outcome: 'refused',
          code: 'malformed',
          reason: expect.stringMatching(/^malformed control message: /),
        });
      }
      expect((await f.release(waiting.id))?.phase).toBe('AwaitingPromotion');
      expect((await f.selector('api'))['switchyard.dev/revision']).toBe(waiting.stable!.revision);
    } finally {
      await pubsub.close();
    }
    // The same promote, spelt right, is applied.
    await f.control('promote');
    expect((await f.waitRelease(waiting.id)).phase).toBe('Succeeded');
  });

  it('a push over 16 KiB is recorded as ignored with its size, without its payload, and releases nothing', async () => {
    const f = await start('strict-push');
    const pubsub = testPubSub();
    try {
      const gcr = pubsub.topic('gcr');
      const notification = { action: 'INSERT', digest: f.image(2), tag: `${f.repository}:v2` };
      // 20 KiB would be stored and released today; 2 MiB is over Firestore's document limit.
      const sizes = [20 * 1024, 2 * 1024 * 1024];
      const ids = await Promise.all(
        sizes.map((n) => gcr.publishMessage({ json: { ...notification, padding: 'x'.repeat(n) } })),
      );
      for (const [i, messageId] of ids.entries()) {
        const bytes = JSON.stringify({ ...notification, padding: 'x'.repeat(sizes[i]!) }).length;
        const record = await waitFor(
          async () => {
            const snap = await f.store.pushRef(messageId, '-').get();
            return snap.exists ? (snap.data() as PushRecord) : undefined;
          },
          { timeoutMs: 60_000, what: `the record of the push of ${bytes} bytes` },
        );
        expect(record).toMatchObject({
          outcome: 'ignored',
          target: null,
          reason: `notification of ${bytes} bytes is over the limit of 16384 bytes (an Artifact Registry notification is a few hundred): not read`,
          message: { bytes },
        });
        expect(JSON.stringify(record.message).length).toBeLessThan(300);
        expect((await f.store.pushRef(messageId, f.name).get()).exists).toBe(false);
      }
      expect((await f.workload()).releases).toBe(0);
      expect((await f.deployment('api'))?.spec?.replicas).toBe(3);
    } finally {
      await pubsub.close();
    }
  });
});
