// Release events and notifiers end to end: the functions publish every history entry on the events
// topic as a CloudEvent, the notify function delivers them to local HTTP receivers standing in for a
// Slack incoming webhook and generic webhooks, with the Slack URL read from a mounted secret file.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/process.ts';
import { collections } from '../../shared/adapters/collections.ts';
import { marked } from '../../shared/adapters/store.ts';
import type { Release } from '../../shared/engine/release.ts';
import { releaseEventType } from '../../shared/notify/event.ts';
import type { NotificationRecord } from '../../shared/runtime/notify.ts';
import { releaseHarness } from '../support/harness.ts';
import { grantSecret, mountSecret } from '../support/installation.ts';
import { type Receiver, startReceiver } from '../support/receiver.ts';
import type { Fixture } from '../support/release.ts';
import { stack } from '../support/stack.ts';

const { start } = releaseHarness();
let receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  receivers = [];
});

async function receiver(answer?: 'ok' | number | 'hang'): Promise<Receiver> {
  const r = await startReceiver(answer === undefined ? {} : { answer });
  receivers.push(r);
  return r;
}

interface Event {
  id: string;
  type: string;
  source: string;
  specversion: string;
  data: {
    releaseId: string;
    index: number;
    from: string | null;
    to: string;
    cause: string;
    reason: string | null;
  };
}

async function records(f: Fixture, releaseId: string): Promise<NotificationRecord[]> {
  const q = await f.db.collection(collections.notifications).where('releaseId', '==', releaseId).get();
  return q.docs.map((d) => d.data() as NotificationRecord);
}

/** Waits until every notifier has finished with every event it wanted (delivered or given up). */
async function settled(f: Fixture, releaseId: string, expected: number): Promise<NotificationRecord[]> {
  return waitFor(
    async () => {
      const all = await records(f, releaseId);
      return all.length >= expected && all.every((r) => r.status !== 'sending') ? all : undefined;
    },
    { timeoutMs: 60_000, what: `${expected} finished notifications of ${releaseId}` },
  );
}

const phaseChanges = (r: Release) => r.history.filter((h) => h.from !== h.to);

describe('release events and notifications', () => {
  it('every history entry reaches a webhook as a CloudEvent, Slack gets readable messages, broken notifiers hold nothing up', async () => {
    const all = await receiver();
    const slack = await receiver();
    const failuresOnly = await receiver();
    const broken = await receiver(500);
    const hanging = await receiver('hang');
    const slackSecret = mountSecret(slack.url);
    const f = await start('notify', {
      notifications: [
        { name: 'audit', on: ['all'], webhook: { url: all.url } },
        { name: 'team-slack', slack: { webhookSecret: slackSecret, channel: '#releases' } },
        { name: 'oncall', on: ['failures'], webhook: { url: failuresOnly.url } },
        { name: 'broken', on: ['finished'], webhook: { url: broken.url } },
        { name: 'hanging', on: ['finished'], webhook: { url: hanging.url } },
      ],
    });
    // The installation maps the Slack secret to this target (read on every delivery).
    await grantSecret(slackSecret, { targets: [f.name] });
    await f.push(2);
    const done = await f.waitRelease(`${f.name}-1`);
    expect(done.phase).toBe('Succeeded');

    const changes = phaseChanges(done);
    // audit: every entry; team-slack: every phase change; broken and hanging: Succeeded only.
    const finished = await settled(f, done.id, done.history.length + changes.length + 2);

    // The webhook got each history entry once, as a structured-mode CloudEvent, ids in history order.
    const events = (all.received as Event[]).filter((e) => e.data.releaseId === done.id);
    expect(events.map((e) => e.id).sort()).toEqual(done.history.map((_, i) => `${done.id}:${i}`).sort());
    const byIndex = [...events].sort((a, b) => a.data.index - b.data.index);
    expect(byIndex.map((e) => e.data.to)).toEqual(done.history.map((h) => h.to));
    for (const e of events) {
      // The version (here the tag) that a release train's members share: their one stream of events.
      expect(e).toMatchObject({ specversion: '1.0', type: releaseEventType, data: { version: done.tag } });
      expect(e.source).toBe(`//switchyard.dev/projects/${stack().projectId}/targets/${f.name}`);
    }
    expect(all.requests[0]?.headers['content-type']).toBe('application/cloudevents+json');

    // Slack: one message per phase change, readable: target, version, from -> to.
    expect(slack.received).toHaveLength(changes.length);
    const succeeded = (slack.received as { text: string; blocks: { type: string }[] }[]).find((m) =>
      m.text.includes('→ Succeeded'),
    );
    expect(succeeded?.text).toMatch(new RegExp(`^${f.name} v2: \\w+ → Succeeded`));
    expect(succeeded?.blocks[0]?.type).toBe('section');
    expect(succeeded?.blocks.at(-1)?.type).toBe('context');
    expect(JSON.stringify(succeeded?.blocks)).toContain(`*Target*\\n${f.name}`);
    expect(JSON.stringify(succeeded)).toContain('#releases');

    // The failures-only notifier was never asked: the release did not fail.
    expect(finished.filter((r) => r.notifier === 'oncall')).toEqual([]);
    expect(failuresOnly.requests).toHaveLength(0);

    // The broken and the hanging endpoints were each tried 3 times, then left as failed.
    const brokenRecord = finished.find((r) => r.notifier === 'broken')!;
    expect(brokenRecord).toMatchObject({ status: 'failed', attempts: 3, httpStatus: 500 });
    expect(broken.requests).toHaveLength(3);
    const hangingRecord = finished.find((r) => r.notifier === 'hanging')!;
    expect(hangingRecord).toMatchObject({ status: 'failed', attempts: 3, httpStatus: null });
    expect(hangingRecord.error).toMatch(/no answer within \d+ ms/);
    // Nothing of the secret URL is recorded.
    expect(JSON.stringify(finished)).not.toContain(slack.url);
  });

  it('a rollback reaches the failures-only notifier with its reason', async () => {
    const oncall = await receiver();
    const f = await start('notify-fail', {
      progressDeadlineSeconds: 6,
      notifications: [{ name: 'oncall', on: ['failures'], webhook: { url: oncall.url } }],
    });
    await f.push(2);
    expect((await f.waitRelease(`${f.name}-1`)).phase).toBe('Succeeded');
    await f.push('bad0'); // pods of this image never become ready
    const failed = await f.waitRelease(`${f.name}-2`);
    expect(failed.phase).toBe('RolledBack');

    await oncall.until(
      (got) => (got as Event[]).filter((e) => e.data.releaseId === failed.id).length >= 2,
      30_000,
      'the rollback events',
    );
    const events = (oncall.received as Event[]).filter((e) => e.data.releaseId === failed.id);
    expect(events.map((e) => e.data.to).sort()).toEqual(['RolledBack', 'RollingBack']);
    expect(events.find((e) => e.data.to === 'RollingBack')?.data.reason).toMatch(
      /did not become ready within 6 s/,
    );
    // Release 1 succeeded: none of its events were failures.
    expect((oncall.received as Event[]).filter((e) => e.data.releaseId === `${f.name}-1`)).toEqual([]);
  });

  it('events a dead function left unpublished are published by the sweep', async () => {
    const all = await receiver();
    const f = await start('notify-sweep', {
      notifications: [{ name: 'audit', on: ['all'], webhook: { url: all.url } }],
    });
    await f.push(2);
    const done = await f.waitRelease(`${f.name}-1`);
    await settled(f, done.id, done.history.length);
    const delivered = all.received.length;

    // As if the function that committed these two entries had died before publishing them.
    const now = Date.now() - 60_000;
    const orphan: Release = {
      ...done,
      history: [
        ...done.history,
        {
          at: now,
          from: 'Succeeded',
          to: 'Succeeded',
          cause: 'undo',
          by: 'test@switchyard',
          reason: 'refused: test',
        },
        {
          at: now,
          from: 'Succeeded',
          to: 'Succeeded',
          cause: 'abort',
          by: 'test@switchyard',
          reason: 'refused: test',
        },
      ],
      updatedAt: now,
    };
    await f.store.releaseRef(done.id).set(marked(orphan));

    await all.until((got) => got.length >= delivered + 2, 30_000, 'the orphaned events');
    const late = (all.received as Event[]).slice(delivered);
    expect(late.map((e) => e.id).sort()).toEqual([
      `${done.id}:${done.history.length}`,
      `${done.id}:${done.history.length + 1}`,
    ]);
    await waitFor(async () => (await f.release(done.id))?.eventsPending === false, {
      timeoutMs: 10_000,
      what: 'the release to be marked published',
    });
  });
});
