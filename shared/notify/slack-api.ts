// Slack's Web API, the one method Switchyard calls: chat.postMessage with a bot token. The API's
// address is the installation's (SWITCHYARD_SLACK_API_URL), never a target's, so a token cannot be
// sent anywhere else; the token travels in the Authorization header only, and no result, error or
// log line holds it. Slack answers HTTP 200 with `{ok: true, ts, channel}` or `{ok: false, error}`.
import { type DeliveryOptions, type DeliveryResult, postJson, SecretError } from './deliver.ts';
import type { PostMessageBody } from './slack-thread.ts';

/** A delivery through the Web API; when it succeeded, where the message is (its ts, the channel's ID). */
export interface PostedMessage extends DeliveryResult {
  ts?: string;
  channel?: string;
}

/** Posts one message with `token`. Retried as every notification is (timeouts, 429, 5xx). */
export async function postMessage(
  apiUrl: string,
  token: string,
  body: PostMessageBody,
  opts: DeliveryOptions,
): Promise<PostedMessage> {
  const result = await postJson(
    `${apiUrl}/chat.postMessage`,
    JSON.stringify(body),
    'application/json; charset=utf-8',
    opts,
    {
      ownHeaders: { authorization: `Bearer ${token}` },
      readAnswer: true,
    },
  );
  return slackAnswer(result);
}

/**
 * What Slack's answer means: an `ok: false` answer is a failed delivery with Slack's error code
 * (channel_not_found, not_in_channel, invalid_auth, …) as the error. The answer itself is not kept.
 */
export function slackAnswer(result: DeliveryResult): PostedMessage {
  const { answer, ...delivery } = result;
  if (!delivery.ok) return delivery;
  let json: { ok?: unknown; ts?: unknown; channel?: unknown; error?: unknown };
  try {
    json = JSON.parse(answer ?? '') ?? {};
  } catch {
    return { ...delivery, ok: false, error: 'Slack answered without JSON' };
  }
  if (json.ok === true && typeof json.ts === 'string') {
    return {
      ...delivery,
      ts: json.ts,
      ...(typeof json.channel === 'string' ? { channel: json.channel } : {}),
    };
  }
  // Only a code of Slack's form is repeated: the answer is not trusted to be Slack's own words.
  const code = typeof json.error === 'string' && /^[a-z0-9_]{1,64}$/.test(json.error) ? json.error : null;
  return { ...delivery, ok: false, error: code ?? 'Slack answered neither ok nor an error code' };
}

/** The bot token held by secret `id`: one line of printable characters (what a header can carry). */
export function botToken(value: string, id: string): string {
  if (!/^[\x21-\x7e]+$/.test(value)) {
    throw new SecretError(
      `secret "${id}" does not hold a Slack bot token (one line, no spaces): add a version with the token`,
    );
  }
  return value;
}
