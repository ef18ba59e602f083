// Notifiers of a ReleaseTarget (SPEC §9): where the release events of a target are delivered. Secret
// URLs (a Slack incoming webhook is one) are never written into the target: they are Secret Manager
// secrets mounted into the notify function, named here by their secret id.
import { z } from 'zod';
import { staticRefusal } from '../egress/policy.ts';
import { phases } from '../engine/phase.ts';
import { dns1123Label } from '../target/names.ts';

/** Groups of events a notifier can ask for, besides single phases. */
export const eventGroups = {
  /** Every history entry: phase changes, refused commands, new reasons of a wait. */
  all: 'every entry of the release history',
  /** Every change of phase (the default). */
  transitions: 'every change of phase',
  /** The release started (Pending). */
  started: 'a release started',
  /** The release waits for a human: AwaitingPromotion, or a canary pause without duration. */
  waiting: 'the release waits for promote',
  /** Traffic moved to the new revision (Switching). */
  switched: 'traffic moved to the new revision',
  /** RollingBack, RolledBack, Aborted, Failed. */
  failures: 'the release is rolling back, rolled back, aborted or failed',
  /** The release ended, however it ended. */
  finished: 'the release ended (Succeeded, RolledBack, Aborted, Failed, Superseded)',
} as const;
export type EventGroup = keyof typeof eventGroups;

/** A Secret Manager secret id (not the full resource name): letters, digits, "-" and "_". */
const secretId = z
  .string()
  .regex(
    /^[A-Za-z0-9_-]{1,255}$/,
    'must be a Secret Manager secret id (letters, digits, "-" and "_"), not a URL or a resource name',
  );

const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .refine((u) => {
    const url = new URL(u);
    return url.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  }, 'must use https (plain http is allowed for localhost only)')
  .superRefine((u, ctx) => {
    const refusal = staticRefusal(u);
    if (refusal) ctx.addIssue({ code: 'custom', message: refusal.message });
  });

const filterSchema = z
  .array(z.union([z.enum(Object.keys(eventGroups) as [EventGroup, ...EventGroup[]]), z.enum(phases)]), {
    error: `must be a list of event groups (${Object.keys(eventGroups).join(', ')}) or phases (${phases.join(', ')})`,
  })
  .min(1, 'must name at least one event group or phase: leave it out for every change of phase')
  .default(['transitions'])
  .describe(
    `Which events are delivered: groups (${Object.entries(eventGroups)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}) or phase names (the phase entered). Default: transitions.`,
  );

/**
 * A Slack channel: a name (`#releases`, or `releases`) or a channel ID (`C024BE91L`; `G…` for an old
 * private channel). `@name` is accepted beside an incoming webhook, where it is only shown.
 */
const slackChannel = z
  .string()
  .regex(
    /^([#@]?[a-z0-9._-]{1,80}|[CG][A-Z0-9]{8,20})$/,
    'must be a Slack channel name like #releases or a channel ID like C024BE91L',
  );

const slackSchema = z
  .strictObject({
    webhookSecret: secretId
      .optional()
      .describe(
        'Secret Manager secret holding the Slack incoming-webhook URL (mounted into the notify function); the installation must map it to this target (SWITCHYARD_NOTIFY_SECRET_GRANTS). Messages go where the webhook points; an incoming webhook cannot thread them. Exactly one of webhookSecret and tokenSecret.',
      ),
    tokenSecret: secretId
      .optional()
      .describe(
        "Secret Manager secret holding a Slack bot token (xoxb-…, with the chat:write scope; the bot must be a member of the channel), mounted into the notify function; the installation must map it to this target (SWITCHYARD_NOTIFY_SECRET_GRANTS). Messages go through Slack's Web API (chat.postMessage) to `channel`, in threads: one per release train (every member's events, whichever target they come from), or one per release of a target in no train; failures are also shown in the channel. The API's address is the installation's (SWITCHYARD_SLACK_API_URL), never the target's. Exactly one of webhookSecret and tokenSecret.",
      ),
    channel: slackChannel
      .optional()
      .describe(
        'With tokenSecret (required): the channel messages are posted in, by name (#releases) or ID (C024BE91L). With webhookSecret: only shown in the message; the incoming webhook decides where it is posted.',
      ),
  })
  .superRefine((s, ctx) => {
    if ((s.webhookSecret === undefined) === (s.tokenSecret === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message:
          'must have exactly one of webhookSecret (an incoming webhook) or tokenSecret (a bot token, with channel)',
      });
    } else if (s.tokenSecret !== undefined && s.channel === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['channel'],
        message: 'is required with tokenSecret: name the channel to post in, like #releases or C024BE91L',
      });
    } else if (s.tokenSecret !== undefined && s.channel?.startsWith('@')) {
      ctx.addIssue({
        code: 'custom',
        path: ['channel'],
        message: 'must be a channel with tokenSecret (#name or a channel ID), not a person',
      });
    }
  })
  .describe(
    'A Slack message (Block Kit) per event: target, version, from -> to, reason, analysis. Through an incoming webhook (webhookSecret), or through a bot token (tokenSecret) into one thread per release train or release.',
  );

/** A Slack notifier that posts with a bot token: its channel is always set. */
export interface SlackTokenNotifier {
  tokenSecret: string;
  channel: string;
}

const webhookSchema = z
  .strictObject({
    url: httpUrl
      .optional()
      .describe('Where the CloudEvent is POSTed. Use urlSecret when the URL carries a token.'),
    urlSecret: secretId
      .optional()
      .describe(
        'Secret Manager secret holding the URL (mounted into the notify function); the installation must map it to this target (SWITCHYARD_NOTIFY_SECRET_GRANTS).',
      ),
  })
  .refine((w) => (w.url === undefined) !== (w.urlSecret === undefined), {
    error: 'must have exactly one of url or urlSecret',
  })
  .describe('The CloudEvent as JSON (structured mode), POSTed to a URL.');

export const notifierSchema = z
  .strictObject({
    name: dns1123Label.describe(
      'Name of the notifier, unique within the target (shown in logs and delivery records).',
    ),
    on: filterSchema,
    slack: slackSchema.optional(),
    webhook: webhookSchema.optional(),
  })
  .refine((n) => (n.slack === undefined) !== (n.webhook === undefined), {
    error: 'must have exactly one of slack or webhook',
  })
  .describe('A notifier: where events go (slack or webhook) and which ones (on).');

export const notificationsSchema = z
  .array(notifierSchema)
  .refine((ns) => new Set(ns.map((n) => n.name)).size === ns.length, 'notifier names must be unique')
  .describe(
    'Where the release events of this target are delivered. A notifier that fails never blocks or fails a release.',
  );

export type Notifier = z.output<typeof notifierSchema>;
