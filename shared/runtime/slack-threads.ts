// Slack notifiers with a bot token post into threads (shared/notify/slack-thread.ts says which): the
// ts of each thread in a channel is kept in slackThreads/<digest>, so every member of a release train,
// from whichever notify invocation, replies under the same parent. Exactly one invocation posts the
// parent: it claims the record in a transaction (created without ts), posts, and stores the ts; the
// others wait a few seconds for it, then post without thread rather than lose the message. An event
// delivered again finds the ts and replies: it never posts a second parent. A record holds the
// channel, the thread key and the ts, never the token.
import { setTimeout as sleep } from 'node:timers/promises';
import type { DocumentReference, Timestamp } from '@google-cloud/firestore';
import { recordExpiry, type Store } from '../adapters/store.ts';
import { dependencyOrder, type TrainTarget } from '../engine/train-graph.ts';
import type { DeliveryResult } from '../notify/deliver.ts';
import type { ReleaseEvent } from '../notify/event.ts';
import type { SlackTokenNotifier } from '../notify/schema.ts';
import { slackMessage } from '../notify/slack.ts';
import { type PostedMessage, postMessage } from '../notify/slack-api.ts';
import {
  broadcast,
  postMessageBody,
  type SlackThread,
  threadOf,
  threadRecordId,
} from '../notify/slack-thread.ts';
import type { Deps } from './deps.ts';

/** How long an invocation that did not post the parent waits for its ts before posting without thread. */
export const parentWaitMs = 5000;
/** A claim this old without a ts is taken to be of an invocation that died: the parent is posted again. */
const parentClaimMs = 2 * 60_000;
/** Beyond this many targets a train's walk stops (the parent names those found). */
const maxTrainMembers = 50;

export interface SlackThreadRecord {
  /** The channel as the notifier names it. */
  channel: string;
  /** What the thread is of (SlackThread.key). */
  key: string;
  /** The parent message's ts; null while the invocation that claimed the record posts it. */
  ts: string | null;
  /** The channel's ID, as Slack answered the parent. */
  channelId: string | null;
  claimedAt: number;
  /** The event whose delivery posted (or posts) the parent. */
  claimedBy: string;
  /** Deleted by TTL after this (a Timestamp when read back). */
  expireAt: Date | Timestamp;
}

/** Where a message goes: a reply in a thread, the channel itself, or nowhere (the parent failed). */
type Place =
  | { kind: 'thread'; ts: string; channel: string }
  | { kind: 'channel' }
  | { kind: 'failed'; result: DeliveryResult };

/** Delivers `event` to the notifier's channel, in its train's (or release's) thread. */
export async function sendThreaded(
  d: Deps,
  event: ReleaseEvent,
  slack: SlackTokenNotifier,
  token: string,
): Promise<DeliveryResult> {
  const members = dependencyOrder(await trainMembers(d.store, event.data.target));
  const thread = threadOf(event.data, members);
  const ref = d.store.slackThreadRef(threadRecordId(slack.channel, thread.key));
  const place = await placeOf(d, ref, { event, slack, thread, token });
  if (place.kind === 'failed') return place.result;
  const message = slackMessage(event.data);
  const body =
    place.kind === 'thread'
      ? postMessageBody(place.channel, message, { ts: place.ts, alsoInChannel: broadcast(event.data) })
      : postMessageBody(slack.channel, message);
  return postMessage(d.notify.slackApiUrl, token, body, d.notify);
}

interface ThreadContext {
  event: ReleaseEvent;
  slack: SlackTokenNotifier;
  thread: SlackThread;
  token: string;
}

async function placeOf(d: Deps, ref: DocumentReference, ctx: ThreadContext): Promise<Place> {
  const found = await claimThread(d, ref, ctx);
  if (found === 'claimed') return postParent(d, ref, ctx);
  const record = found.ts ? found : await awaitParent(ref);
  if (record?.ts) return { kind: 'thread', ts: record.ts, channel: record.channelId ?? ctx.slack.channel };
  const why = `the parent of thread "${ctx.thread.key}" was not posted within ${parentWaitMs} ms`;
  d.log.warn(`slack: ${why}: posting without thread`, { releaseId: ctx.event.data.releaseId });
  return { kind: 'channel' };
}

/** 'claimed' when this invocation is to post the parent (no record, or a dead claim); else the record. */
async function claimThread(
  d: Deps,
  ref: DocumentReference,
  ctx: ThreadContext,
): Promise<'claimed' | SlackThreadRecord> {
  const now = d.now();
  return d.store.transaction(async (tx) => {
    const record = (await tx.get(ref)).data() as SlackThreadRecord | undefined;
    if (record && (record.ts !== null || record.claimedAt > now - parentClaimMs)) return record;
    const claim: SlackThreadRecord = {
      channel: ctx.slack.channel,
      key: ctx.thread.key,
      ts: null,
      channelId: null,
      claimedAt: now,
      claimedBy: ctx.event.id,
      expireAt: recordExpiry(now),
    };
    tx.set(ref, claim);
    return 'claimed';
  });
}

/** Posts the parent and keeps its ts; a failed parent gives the claim up, for the next event to try. */
async function postParent(d: Deps, ref: DocumentReference, ctx: ThreadContext): Promise<Place> {
  const body = postMessageBody(ctx.slack.channel, ctx.thread.parent);
  const posted: PostedMessage = await postMessage(d.notify.slackApiUrl, ctx.token, body, d.notify);
  if (!posted.ok || !posted.ts) {
    await ref.delete();
    return {
      kind: 'failed',
      result: { ...posted, ok: false, error: `thread parent: ${posted.error ?? 'no ts'}` },
    };
  }
  const channel = posted.channel ?? ctx.slack.channel;
  await ref.update({ ts: posted.ts, channelId: channel } satisfies Partial<SlackThreadRecord>);
  d.log.info(`slack: thread "${ctx.thread.key}" started in ${ctx.slack.channel}`, {
    releaseId: ctx.event.data.releaseId,
    target: ctx.event.data.target,
  });
  return { kind: 'thread', ts: posted.ts, channel };
}

/** The record once its ts is set, or null when it is gone or the wait is over. */
async function awaitParent(ref: DocumentReference): Promise<SlackThreadRecord | null> {
  const deadline = Date.now() + parentWaitMs;
  for (;;) {
    const record = (await ref.get()).data() as SlackThreadRecord | undefined;
    if (!record) return null;
    if (record.ts) return record;
    if (Date.now() >= deadline) return null;
    await sleep(200);
  }
}

/**
 * The stored targets connected to `name` through dependsOn, both ways: `name`'s release train, or
 * `name` alone. A name in dependsOn that is not a stored target is left out.
 */
export async function trainMembers(store: Store, name: string): Promise<TrainTarget[]> {
  const members = new Map<string, TrainTarget>();
  const seen = new Set<string>();
  const todo = [name];
  while (todo.length > 0 && members.size < maxTrainMembers) {
    const next = todo.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    const [target, dependents] = await Promise.all([store.target(next), store.dependentsOf(next)]);
    if (!target) continue;
    const dependsOn = target.spec.dependsOn ?? [];
    members.set(next, { name: next, dependsOn });
    todo.push(...dependsOn, ...dependents.map((t) => t.name));
  }
  return members.size > 0 ? [...members.values()] : [{ name, dependsOn: [] }];
}
