// The Slack message of a release event: Block Kit blocks for people, and a plain `text` that Slack
// shows in notifications and where blocks cannot be drawn.
import { failurePhases, type Phase } from '../engine/phase.ts';
import type { ReleaseEventData } from './event.ts';

/**
 * Slack's mrkdwn treats &, < and > as control characters; everything we did not write is escaped, so
 * a reason or a name cannot carry a link or a mention (`<!channel>`, `<!here>`, `<@U123>`): escaped,
 * it shows as the text it is.
 */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

const icon = (to: Phase): string => {
  if (to === 'Succeeded') return ':white_check_mark:';
  if (failurePhases.has(to)) return ':x:';
  if (to === 'AwaitingPromotion') return ':double_vertical_bar:';
  if (to === 'AwaitingDependencies') return ':hourglass_flowing_sand:';
  if (to === 'Superseded') return ':fast_forward:';
  return ':arrows_counterclockwise:';
};

/** The version people know the release by: its tag, else the short digest. */
export function versionOf(d: Pick<ReleaseEventData, 'tag' | 'image'>): string {
  if (d.tag) return d.tag.slice(d.tag.lastIndexOf(':') + 1);
  const digest = d.image.slice(d.image.indexOf('@') + 1);
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

export interface SlackMessage {
  text: string;
  blocks: object[];
}

export function slackMessage(d: ReleaseEventData, channel?: string): SlackMessage {
  const version = versionOf(d);
  const change = d.from && d.from !== d.to ? `${d.from} → ${d.to}` : d.to;
  // The plain text is parsed as mrkdwn too (it is what notifications show), so it is escaped as well.
  const text = escapeMrkdwn(`${d.target} ${version}: ${change}${d.reason ? ` (${d.reason})` : ''}`);
  const fields = [
    `*Target*\n${escapeMrkdwn(d.target)}`,
    `*Release*\n${escapeMrkdwn(d.releaseId)}`,
    `*Version*\n${escapeMrkdwn(version)}`,
    `*State*\n${escapeMrkdwn(change)}`,
  ];
  const blocks: object[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `${icon(d.to)} *${escapeMrkdwn(d.target)}* ${escapeMrkdwn(version)}: ${escapeMrkdwn(change)}`,
      },
    },
    { type: 'section', fields: fields.map((t) => ({ type: 'mrkdwn', text: t })) },
  ];
  if (d.reason) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Reason*\n${escapeMrkdwn(d.reason)}` } });
  }
  if (d.analysis.length > 0) {
    const lines = d.analysis.flatMap((run) => [
      `*${run.kind} analysis: ${run.phase}*${run.message ? ` (${escapeMrkdwn(run.message)})` : ''}`,
      ...run.metrics.map(
        (m) =>
          `• ${escapeMrkdwn(m.name)}: ${m.phase}, ${m.measurements} measured, ${m.failed} failed${m.last !== null ? `, last ${escapeMrkdwn(m.last)}` : ''}`,
      ),
    ]);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n').slice(0, 2900) } });
  }
  const context = [
    `cause: ${escapeMrkdwn(d.cause)}`,
    ...(d.by ? [`by: ${escapeMrkdwn(d.by)}`] : []),
    `at: ${d.at}`,
    ...(channel ? [`channel: ${escapeMrkdwn(channel)}`] : []),
    ...(d.links.logs ? [`<${d.links.logs}|logs>`] : []),
  ];
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] });
  return { text, blocks };
}
