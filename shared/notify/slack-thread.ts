// Slack threads of release events, for Slack notifiers with a bot token: every event of a release
// train goes into one thread of the channel, under a parent message naming the train and its members;
// a release of a target in no train gets a thread of its own. Pure: which thread an event belongs
// to, the parent message, and the body of each chat.postMessage. Where a thread's ts is kept, and who
// posts the parent, is shared/runtime/slack-threads.ts.
import { createHash } from 'node:crypto';
import { failurePhases } from '../engine/phase.ts';

import type { ReleaseEventData } from './event.ts';
import { escapeMrkdwn, type SlackMessage, versionOf } from './slack.ts';

/** The thread an event goes into: what identifies it within a channel, and the message that starts it. */
export interface SlackThread {
  /** `train <version> <members>` for a release train, `release <release id>` for a release alone. */
  key: string;
  parent: SlackMessage;
}

/**
 * The thread of an event whose target's train has `members` (in dependency order; the target alone
 * when it is in no train). A release without a version (an untagged push) is in no train.
 */
export function threadOf(d: ReleaseEventData, members: readonly string[]): SlackThread {
  if (d.version !== null && members.length > 1) {
    const text = `Release train ${d.version}: ${members.join(', ')}`;
    return {
      key: `train ${d.version} ${members.join(',')}`,
      parent: parentMessage(':steam_locomotive:', text),
    };
  }
  const text = `${d.target} ${versionOf(d)}: release ${d.releaseId}`;
  return { key: `release ${d.releaseId}`, parent: parentMessage(':package:', text) };
}

function parentMessage(icon: string, text: string): SlackMessage {
  const escaped = escapeMrkdwn(text);
  return {
    text: escaped,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${icon} *${escaped}*` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'Every event follows in this thread.' }] },
    ],
  };
}

/** Failures are shown in the channel too, not only in the thread: entering RollingBack, RolledBack, Aborted or Failed. */
export function broadcast(d: ReleaseEventData): boolean {
  return failurePhases.has(d.to) && d.from !== d.to;
}

/** The JSON body of chat.postMessage. */
export interface PostMessageBody {
  channel: string;
  text: string;
  blocks: object[];
  thread_ts?: string;
  reply_broadcast?: boolean;
}

/** A message for `channel`: a reply in the thread `ts` when there is one, also in the channel when `alsoInChannel`. */
export function postMessageBody(
  channel: string,
  message: SlackMessage,
  thread?: { ts: string; alsoInChannel: boolean },
): PostMessageBody {
  const body: PostMessageBody = { channel, text: message.text, blocks: message.blocks };
  if (thread) body.thread_ts = thread.ts;
  if (thread?.alsoInChannel) body.reply_broadcast = true;
  return body;
}

/**
 * The id of the document that keeps a thread's ts: a digest of channel and key (document ids cannot
 * hold "/", and a train's key grows with its members). `#releases` and `releases` are one channel.
 * The document holds both in clear.
 */
export function threadRecordId(channel: string, key: string): string {
  const name = channel.replace(/^#/, '');
  return createHash('sha256').update(`${name}\n${key}`).digest('hex').slice(0, 40);
}
