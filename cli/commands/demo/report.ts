// How the demo talks: progress lines with a mark and the act's elapsed seconds, acts that pass or
// fail on checks of what really happened, and a one-screen summary at the end.

import { relative } from 'node:path';

/** Where the demo writes (stdout by default; tests capture it). */
export type Write = (line: string) => void;

/** The progress of one act: each line carries the seconds since the act started. */
export interface Progress {
  /** Something the act checked and found as the story says. */
  ok(text: string): void;
  /** Something that happened along the way (a release's transition, a weight read back). */
  info(text: string): void;
  /** A line of another program's output, shown as it is. */
  show(text: string): void;
}

/** What an act returns when it ended as the story says: a short outcome for the summary. */
export type ActOutcome = string;

export interface Act<C> {
  title: string;
  /** Numbers of the acts whose outcome this one builds on; it is skipped when one of them failed. */
  needs?: number[];
  run(ctx: C, progress: Progress): Promise<ActOutcome>;
}

export interface ActResult {
  number: number;
  title: string;
  status: 'passed' | 'failed' | 'skipped';
  outcome: string;
  seconds: number;
}

const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1).padStart(5);

/** A failed act's message, on one line. */
function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/** Runs the acts in order; an act that throws has failed, and the acts that need it are skipped. */
export async function runActs<C>(ctx: C, acts: Act<C>[], write: Write): Promise<ActResult[]> {
  const results: ActResult[] = [];
  for (const [i, act] of acts.entries()) {
    const number = i + 1;
    write('');
    write(`Act ${number}  ${act.title}`);
    const failedNeed = act.needs?.find((n) => results[n - 1]?.status !== 'passed');
    if (failedNeed !== undefined) {
      write(`  –  skipped: act ${failedNeed} did not end as the story says`);
      results.push({
        number,
        title: act.title,
        status: 'skipped',
        outcome: `needs act ${failedNeed}`,
        seconds: 0,
      });
      continue;
    }
    const started = Date.now();
    const progress: Progress = {
      ok: (text) => write(`  ✔ ${seconds(started)} s  ${text}`),
      info: (text) => write(`    ${seconds(started)} s  ${text}`),
      show: (text) => write(`      │ ${text}`),
    };
    try {
      const outcome = await act.run(ctx, progress);
      const took = (Date.now() - started) / 1000;
      write(`  ✔ Act ${number} ended as the story says (${took.toFixed(1)} s): ${outcome}`);
      results.push({ number, title: act.title, status: 'passed', outcome, seconds: took });
    } catch (err) {
      const took = (Date.now() - started) / 1000;
      write(`  ✖ ${seconds(started)} s  ${oneLine(err)}`);
      write(`  ✖ Act ${number} did not end as the story says (${took.toFixed(1)} s)`);
      results.push({ number, title: act.title, status: 'failed', outcome: oneLine(err), seconds: took });
    }
  }
  return results;
}

/** The summary table: one line per act with its mark, outcome and duration. */
export function summary(results: ActResult[], totalSeconds: number, width = 100): string[] {
  const mark = { passed: '✔', failed: '✖', skipped: '–' } as const;
  const titleWidth = Math.max(...results.map((r) => r.title.length), 3);
  const outcomeWidth = Math.max(20, width - titleWidth - 18);
  const clip = (s: string) => (s.length > outcomeWidth ? `${s.slice(0, outcomeWidth - 1)}…` : s);
  const lines = [
    'Summary',
    `  #  ${'act'.padEnd(titleWidth)}    ${'outcome'.padEnd(outcomeWidth)}  time`,
    ...results.map(
      (r) =>
        `  ${r.number}  ${r.title.padEnd(titleWidth)}  ${mark[r.status]} ${clip(r.outcome).padEnd(outcomeWidth)} ${r.seconds.toFixed(1).padStart(5)} s`,
    ),
    `     ${'total'.padEnd(titleWidth)}    ${''.padEnd(outcomeWidth)} ${totalSeconds.toFixed(1).padStart(5)} s`,
  ];
  const passed = results.filter((r) => r.status === 'passed').length;
  lines.push(
    '',
    passed === results.length
      ? 'Every act ended as the story says.'
      : `${results.length - passed} of ${results.length} acts did not end as the story says.`,
  );
  return lines;
}

/** A digest shortened for printing: `…/api@sha256:2222…2222`. */
export function short(image: string): string {
  const at = image.indexOf('@sha256:');
  if (at < 0) return image;
  const hex = image.slice(at + 8);
  return `${image.slice(0, at)}@sha256:${hex.slice(0, 4)}…${hex.slice(-4)}`;
}

/** A path as the user would type it from the current folder. */
export function shown(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

/** A ratio as a percentage with one decimal: 0.2 → "20.0%". */
export function percent(value: unknown): string {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === 'number' ? `${(100 * v).toFixed(1)}%` : String(v);
}
