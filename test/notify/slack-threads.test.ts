// Slack notifiers with a bot token on the stack: the notify function posts through the Web API to the
// installation's address (the stack's, where a stand-in for Slack listens), each release train in one
// thread of the channel under one parent, failures also shown in the channel, the token sent as a
// bearer token and kept nowhere in Firestore.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/process.ts';
import { collections } from '../../shared/adapters/collections.ts';
import type { Release } from '../../shared/engine/release.ts';
import { releaseEvent } from '../../shared/notify/event.ts';
import type { NotificationRecord } from '../../shared/runtime/notify.ts';
import type { SlackThreadRecord } from '../../shared/runtime/slack-threads.ts';
import { topology } from '../../shared/topology.ts';
import { testPubSub } from '../support/clients.ts';
import { grantSecret, mountSecret } from '../support/installation.ts';
import { watchedMembers } from '../support/members.ts';
import type { Fixture } from '../support/release.ts';
import { channelIdOf, type SlackPost, type SlackStandIn, startSlackStandIn } from '../support/slack.ts';
import { slackApiOf, stack } from '../support/stack.ts';

let slack: SlackStandIn;
beforeAll(async () => {
  slack = await startSlackStandIn(slackApiOf());
});
afterAll(() => slack?.close());

/** Every member is watched by the invariant checker while its test runs. */
const member = watchedMembers();

/** Waits until every notification of the releases has finished (delivered or given up). */
async function settled(f: Fixture, releases: Release[]): Promise<NotificationRecord[]> {
  const expected = releases.reduce((n, r) => n + r.history.filter((h) => h.from !== h.to).length, 0);
  const ids = releases.map((r) => r.id);
  return waitFor(
    async () => {
      const q = await f.db.collection(collections.notifications).where('releaseId', 'in', ids).get();
      const all = q.docs.map((d) => d.data() as NotificationRecord);
      return all.length >= expected && all.every((r) => r.status !== 'sending') ? all : undefined;
    },
    { timeoutMs: 60_000, what: `${expected} finished notifications of ${ids.join(', ')}` },
  );
}

/** Every document of every collection in the project, as JSON. */
async function everyDocument(f: Fixture): Promise<string> {
  const texts: string[] = [];
  for (const c of await f.db.listCollections()) {
    for (const doc of (await c.get()).docs) texts.push(JSON.stringify(doc.data()));
  }
  return texts.join('\n');
}

describe('Slack threads', () => {
  it('a release train of three targets posts into one thread: one parent, every member replying, failures broadcast', async () => {
    const token = `xoxb-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const secret = mountSecret(token, 'slack-bot');
    const notifications = [{ name: 'team', slack: { tokenSecret: secret, channel: '#releases' } }];
    // a <- b <- c: b depends on a, c on b. a's image never gets ready: it rolls back, b and c abort.
    const a = await member('sl-a', { progressDeadlineSeconds: 6, notifications });
    const b = await member('sl-b', { dependsOn: [a.name], notifications });
    const c = await member('sl-c', { dependsOn: [b.name], notifications });
    await grantSecret(secret, { targets: [a.name, b.name, c.name] });
    // Pushed at once, so that notify invocations of several members race for the parent.
    await Promise.all([a.push('bad0'), b.push(2, { tag: 'vbad0' }), c.push(2, { tag: 'vbad0' })]);
    const releases = [
      await a.waitRelease(`${a.name}-1`),
      await b.waitRelease(`${b.name}-1`),
      await c.waitRelease(`${c.name}-1`),
    ];
    expect(releases.map((r) => r.phase)).toEqual(['RolledBack', 'Aborted', 'Aborted']);
    const records = await settled(a, releases);
    expect(records.map((r) => `${r.notifier}: ${r.status} ${r.error ?? ''}`)).toEqual(
      records.map(() => 'team: delivered '),
    );

    const ours = slack.posts.filter((p) => p.token === token);
    const parents = ours.filter((p) => p.body.thread_ts === undefined);
    expect(parents.map((p) => p.body.text)).toEqual([`Release train vbad0: ${a.name}, ${b.name}, ${c.name}`]);
    const parent = parents[0]!;
    expect(parent.body.channel).toBe('#releases');
    const replies = ours.filter((p) => p !== parent);
    expect(replies).toHaveLength(records.length);
    for (const r of replies) {
      expect(r.body).toMatchObject({ channel: channelIdOf('#releases'), thread_ts: parent.ts });
    }
    expectEveryChange(replies, releases);

    // The token went as a bearer token on every request, and no Firestore record holds it.
    expect(ours.length).toBe(replies.length + 1);
    expect(await everyDocument(a)).not.toContain(token);
    const thread = await threadRecord(a, parent.ts);
    expect(thread).toMatchObject({ channel: '#releases', channelId: channelIdOf('#releases') });

    // An event delivered again (its delivery record gone) replies in the thread: no second parent.
    const aborted = releases[1]!.history.findIndex((h) => h.to === 'Aborted' && h.from !== h.to);
    await redeliver(a, releases[1]!, aborted);
    await slack.until(
      (posts) => posts.filter((p) => p.token === token).length > ours.length,
      30_000,
      'the event delivered again',
    );
    const again = slack.posts.filter((p) => p.token === token).slice(ours.length);
    expect(again.map((p) => p.body.thread_ts)).toEqual([parent.ts]);
    expect(again[0]!.body).toMatchObject({ reply_broadcast: true });
    expect(changeOf(again[0]!, b.name)).toMatch(/→ Aborted$/);
  });
});

const failures = ['RollingBack', 'RolledBack', 'Aborted', 'Failed'];

/** Each phase change of each release is one reply, the failures also shown in the channel. */
function expectEveryChange(replies: SlackPost[], releases: Release[]): void {
  for (const r of releases) {
    const expected = r.history
      .filter((h) => h.from !== h.to)
      .map((h) => (h.from ? `${h.from} → ${h.to}` : h.to));
    const mine = replies.filter((p) => changeOf(p, r.target) !== null);
    expect(mine.map((p) => changeOf(p, r.target)).sort()).toEqual(expected.sort());
    for (const p of mine) {
      const to = changeOf(p, r.target)!.split(' → ').at(-1)!;
      expect(p.body.reply_broadcast ?? false, p.body.text).toBe(failures.includes(to));
    }
  }
}

/** The change a message of `target`'s release tells ("Pending", "A → B"), without its reason; null for another's. */
function changeOf(p: SlackPost, target: string): string | null {
  const prefix = `${target} vbad0: `;
  if (!p.body.text.startsWith(prefix)) return null;
  return p.body.text.slice(prefix.length).replace(/ \(.*$/s, '');
}

/** The thread record whose ts is `ts`. */
async function threadRecord(f: Fixture, ts: string): Promise<SlackThreadRecord | undefined> {
  const q = await f.db.collection(collections.slackThreads).where('ts', '==', ts).get();
  return q.docs[0]?.data() as SlackThreadRecord | undefined;
}

/** Publishes history entry `index` of `release` on the events topic again, its delivery record deleted. */
async function redeliver(f: Fixture, release: Release, index: number): Promise<void> {
  const event = releaseEvent(release, index, { projectId: stack().projectId, local: true });
  await f.db.collection(collections.notifications).doc(`${event.id}:team`).delete();
  await testPubSub().topic(topology().eventsTopic).publishMessage({ json: event });
}
