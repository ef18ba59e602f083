// The notify function: one release event from the events topic, delivered to each notifier of its
// target that asks for it. Each delivery is recorded (notifications/<eventId>:<notifier>), so an
// event delivered twice by Pub/Sub, or published twice, is sent once. A notifier that fails or hangs
// is tried a few times, recorded as failed, and left: nothing here reaches back into a release.
// Slack notifiers with a bot token post into threads (slack-threads.ts).
import { recordExpiry } from '../adapters/store.ts';
import { config } from '../config.ts';
import { describeIssues } from '../messages.ts';
import { type DeliveryResult, postJson, readSecret, SecretError } from '../notify/deliver.ts';
import { type ReleaseEvent, releaseEventSchema, wanted } from '../notify/event.ts';
import { type GrantSubject, loadSecretGrants, SecretGrantError, secretRefusal } from '../notify/grants.ts';
import type { Notifier } from '../notify/schema.ts';
import { slackMessage } from '../notify/slack.ts';
import { botToken } from '../notify/slack-api.ts';
import type { Deps } from './deps.ts';
import { noteRelease } from './metrics.ts';
import { sendThreaded } from './slack-threads.ts';

/** A delivery another invocation started this recently is left to it. */
const sendingClaimMs = 2 * 60_000;

export interface NotifyResult {
  delivered: string[];
  failed: string[];
  skipped: string[];
}

export interface NotificationRecord {
  eventId: string;
  releaseId: string;
  target: string;
  notifier: string;
  kind: 'slack' | 'webhook';
  status: 'sending' | 'delivered' | 'failed';
  startedAt: number;
  finishedAt: number | null;
  attempts: number;
  httpStatus: number | null;
  error: string | null;
  expireAt: Date;
}

export async function runNotify(d: Deps, data: unknown): Promise<NotifyResult> {
  const result: NotifyResult = { delivered: [], failed: [], skipped: [] };
  const parsed = releaseEventSchema.safeParse(data);
  if (!parsed.success) {
    d.log.warn(`dropped a message that is not a release event: ${describeIssues(parsed.error)}`);
    return result;
  }
  const event = parsed.data;
  noteRelease(event.data.releaseId);
  const log = d.log.with({ releaseId: event.data.releaseId, target: event.data.target, eventId: event.id });
  const target = await d.store.target(event.data.target);
  const notifiers = (target?.spec.notifications ?? []).filter((n) => wanted(n.on, event.data));
  await Promise.all(
    notifiers.map(async (notifier) => {
      const outcome = await deliverOnce(d, event, notifier);
      result[outcome].push(notifier.name);
    }),
  );
  if (notifiers.length > 0)
    log.info(`event ${event.data.from ?? '-'} -> ${event.data.to} notified`, { ...result });
  return result;
}

async function deliverOnce(
  d: Deps,
  event: ReleaseEvent,
  notifier: Notifier,
): Promise<'delivered' | 'failed' | 'skipped'> {
  const ref = d.store.notificationRef(event.id, notifier.name);
  const kind = notifier.slack ? 'slack' : 'webhook';
  const now = d.now();
  const claimed = await d.store.transaction(async (tx) => {
    const seen = await tx.get(ref);
    const record = seen.data() as NotificationRecord | undefined;
    if (record && (record.status !== 'sending' || record.startedAt > now - sendingClaimMs)) return false;
    const doc: NotificationRecord = {
      eventId: event.id,
      releaseId: event.data.releaseId,
      target: event.data.target,
      notifier: notifier.name,
      kind,
      status: 'sending',
      startedAt: now,
      finishedAt: null,
      attempts: 0,
      httpStatus: null,
      error: null,
      expireAt: recordExpiry(now),
    };
    tx.set(ref, doc);
    return true;
  });
  if (!claimed) return 'skipped';

  let outcome: DeliveryResult;
  try {
    outcome = await send(d, event, notifier);
  } catch (err) {
    if (!(err instanceof SecretError) && !(err instanceof SecretGrantError)) throw err;
    outcome = { ok: false, attempts: 0, status: null, error: err.message };
  }
  await ref.update({
    status: outcome.ok ? 'delivered' : 'failed',
    finishedAt: d.now(),
    attempts: outcome.attempts,
    httpStatus: outcome.status,
    error: outcome.error,
  } satisfies Partial<NotificationRecord>);
  const log = d.log.with({
    releaseId: event.data.releaseId,
    target: event.data.target,
    notifier: notifier.name,
  });
  if (outcome.ok)
    log.info(`${kind} notifier ${notifier.name}: delivered ${event.id}`, { attempts: outcome.attempts });
  else
    log.warn(`${kind} notifier ${notifier.name}: gave up on ${event.id}: ${outcome.error}`, {
      attempts: outcome.attempts,
    });
  return outcome.ok ? 'delivered' : 'failed';
}

/**
 * The value of secret `id` for the event's target, once the installation's grants allow the target
 * to use it (SWITCHYARD_NOTIFY_SECRET_GRANTS); a refusal is a SecretGrantError with the reason.
 */
async function grantedSecret(d: Deps, event: ReleaseEvent, id: string): Promise<string> {
  const grants = await loadSecretGrants(config().notifySecretGrants);
  const snap = await d.store.targetRef(event.data.target).get();
  const subject: GrantSubject = {
    name: event.data.target,
    labels: (snap.get('metadata.labels') as Record<string, string> | undefined) ?? {},
  };
  const refusal = secretRefusal(grants, subject, id);
  if (refusal) throw new SecretGrantError(`refused: ${refusal}`);
  return readSecret(d.notify.secretsDir, id);
}

async function send(d: Deps, event: ReleaseEvent, notifier: Notifier): Promise<DeliveryResult> {
  const slack = notifier.slack;
  if (slack?.tokenSecret) {
    const token = botToken(await grantedSecret(d, event, slack.tokenSecret), slack.tokenSecret);
    return sendThreaded(d, event, { tokenSecret: slack.tokenSecret, channel: slack.channel! }, token);
  }
  if (slack) {
    const url = await grantedSecret(d, event, slack.webhookSecret!);
    const body = JSON.stringify(slackMessage(event.data, slack.channel));
    return postJson(url, body, 'application/json', d.notify);
  }
  const webhook = notifier.webhook!;
  const url = webhook.url ?? (await grantedSecret(d, event, webhook.urlSecret!));
  return postJson(url, JSON.stringify(event), 'application/cloudevents+json', d.notify);
}
