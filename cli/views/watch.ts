// The frame `switchyard watch` redraws on a terminal: the release's header and analysis tree (as
// `get` draws them, without the live revisions) and its latest transitions. Pure.

import { localIso, table } from '../output.ts';
import { drawView } from './draw.ts';
import { fromTo, type TransitionView } from './history.ts';
import type { GetView } from './release-view.ts';

/** How many of the latest transitions a frame shows. */
export const recentTransitions = 8;

export function drawWatchFrame(view: GetView, transitions: TransitionView[], now: number): string {
  const recent = transitions.slice(-recentTransitions);
  const rows = recent.map((t) => [
    localIso(Date.parse(t.at)),
    fromTo(t),
    t.cause,
    t.by ?? '-',
    t.reason ?? '',
  ]);
  const skipped = transitions.length - recent.length;
  return [
    drawView(view, now),
    '',
    `Transitions${skipped > 0 ? ` (latest ${recent.length} of ${transitions.length}; \`switchyard history\` has all)` : ''}:`,
    table(['TIME', 'FROM → TO', 'CAUSE', 'BY', 'REASON'], rows),
  ].join('\n');
}
