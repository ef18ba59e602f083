// What `switchyard history` shows: each release, newest first, with every transition of its state
// machine — when, from → to, what caused it, who asked and why. Pure.
import type { Release, Transition } from '../../shared/engine/release.ts';
import { localIso, table } from '../output.ts';
import { phaseText } from './draw.ts';

export interface TransitionView {
  /** ISO 8601, UTC (the text form shows local time). */
  at: string;
  from: Transition['from'];
  to: Transition['to'];
  cause: string;
  /** Who asked (control commands, retries). */
  by: string | null;
  reason: string | null;
  /** What the transition did to the cluster and the timers. */
  commands: string[];
}

export interface HistoryEntry {
  id: string;
  target: string;
  number: number;
  phase: Release['phase'];
  paused: boolean;
  image: string;
  tag: string | null;
  trigger: Release['trigger']['kind'];
  requestedBy: string | null;
  createdAt: string;
  reason: string | null;
  transitions: TransitionView[];
}

export function transitionView(t: Transition): TransitionView {
  return {
    at: new Date(t.at).toISOString(),
    from: t.from,
    to: t.to,
    cause: t.cause,
    by: t.by ?? null,
    reason: t.reason ?? null,
    commands: t.commands ?? [],
  };
}

export function historyEntry(r: Release): HistoryEntry {
  return {
    id: r.id,
    target: r.target,
    number: r.number,
    phase: r.phase,
    paused: r.paused,
    image: r.image,
    tag: r.tag ?? null,
    trigger: r.trigger.kind,
    requestedBy: 'by' in r.trigger ? r.trigger.by : null,
    createdAt: new Date(r.createdAt).toISOString(),
    reason: r.reason,
    transitions: r.history.map(transitionView),
  };
}

/** `from → to`; a release's first entry has no `from`. */
export function fromTo(t: { from: string | null; to: string }): string {
  return `${t.from ?? '·'} → ${t.to}`;
}

/** One transition on one line (watch without a terminal): time, release, from → to, cause, who, why. */
export function transitionLine(releaseId: string, t: TransitionView): string {
  return [
    localIso(Date.parse(t.at)),
    releaseId,
    fromTo(t),
    t.cause,
    ...(t.by ? [`by ${t.by}`] : []),
    ...(t.reason ? [`: ${t.reason}`] : []),
  ]
    .join('  ')
    .replace('  : ', ': ');
}

/** The text of `switchyard history`: per release a heading line and a table of its transitions. */
export function drawHistory(entries: HistoryEntry[]): string {
  if (entries.length === 0) return 'No releases yet: `switchyard push <image>` starts one';
  return entries
    .map((e) => {
      const trigger = `${e.trigger}${e.tag ? ` tag ${e.tag}` : ''}${e.requestedBy ? ` by ${e.requestedBy}` : ''}`;
      const heading = `${e.id}  ${phaseText(e.phase, e.paused)}  ${trigger}  ${e.image}`;
      const rows = e.transitions.map((t) => [
        localIso(Date.parse(t.at)),
        fromTo(t),
        t.cause,
        t.by ?? '-',
        t.reason ?? '',
      ]);
      const body = table(['TIME', 'FROM → TO', 'CAUSE', 'BY', 'REASON'], rows)
        .split('\n')
        .map((line) => `  ${line}`);
      return [heading, ...body].join('\n');
    })
    .join('\n\n');
}
