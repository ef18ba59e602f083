import { describe, expect, it } from 'vitest';
import { localIso } from '../output.ts';
import * as f from './fixtures.ts';
import { drawHistory, historyEntry, transitionLine } from './history.ts';
import { buildView } from './release-view.ts';
import { drawWatchFrame, recentTransitions } from './watch.ts';

const promoted = f.release({
  phase: 'Switching',
  history: [
    { at: f.t0, from: null, to: 'Pending', cause: 'push' },
    {
      at: f.t0 + 1000,
      from: 'Pending',
      to: 'DeployingGreen',
      cause: 'deploy-green',
      commands: ['CreateRevision'],
    },
    {
      at: f.t0 + 60_000,
      from: 'AwaitingPromotion',
      to: 'Switching',
      cause: 'promote',
      by: 'alice@cli',
      reason: 'promoted (preview checked)',
    },
  ],
});

describe('history', () => {
  it('lists each transition with local time, from → to, cause, who asked and why', () => {
    const lines = drawHistory([historyEntry(promoted)]).split('\n');
    expect(lines[0]).toBe(`api-2  ◌ Switching  push tag v2  ${f.image('2')}`);
    expect(lines.slice(1).map((l) => l.split(/ {2,}/))).toEqual([
      ['', 'TIME', 'FROM → TO', 'CAUSE', 'BY', 'REASON'],
      ['', localIso(f.t0), '· → Pending', 'push', '-'],
      ['', localIso(f.t0 + 1000), 'Pending → DeployingGreen', 'deploy-green', '-'],
      [
        '',
        localIso(f.t0 + 60_000),
        'AwaitingPromotion → Switching',
        'promote',
        'alice@cli',
        'promoted (preview checked)',
      ],
    ]);
  });

  it('gives the transitions as data, times in UTC ISO', () => {
    expect(historyEntry(promoted).transitions[2]).toEqual({
      at: new Date(f.t0 + 60_000).toISOString(),
      from: 'AwaitingPromotion',
      to: 'Switching',
      cause: 'promote',
      by: 'alice@cli',
      reason: 'promoted (preview checked)',
      commands: [],
    });
  });

  it('prints a watched transition as one plain line', () => {
    const t = historyEntry(promoted).transitions[2]!;
    expect(transitionLine('api-2', t)).toBe(
      `${localIso(f.t0 + 60_000)}  api-2  AwaitingPromotion → Switching  promote  by alice@cli: promoted (preview checked)`,
    );
    expect(transitionLine('api-2', historyEntry(promoted).transitions[0]!)).toBe(
      `${localIso(f.t0)}  api-2  · → Pending  push`,
    );
  });

  it('says how to start a release when there is none', () => {
    expect(drawHistory([])).toContain('switchyard push');
  });
});

describe('localIso', () => {
  it('is ISO 8601 with the local offset and milliseconds', () => {
    expect(localIso(f.t0)).toMatch(/^2025-03-01T\d\d:00:00\.000(Z|[+-]\d\d:\d\d)$/);
    expect(Date.parse(localIso(f.t0 + 123))).toBe(f.t0 + 123);
  });
});

describe('the watch frame', () => {
  it('shows the release without revisions, and only the latest transitions', () => {
    const many = f.release({
      history: Array.from({ length: 12 }, (_, i) => ({
        at: f.t0 + i * 1000,
        from: 'DeployingGreen' as const,
        to: 'DeployingGreen' as const,
        cause: `tick-${i}`,
      })),
    });
    const view = buildView({
      targetName: 'api',
      target: f.blueGreenTarget(),
      workload: null,
      release: many,
      releases: [],
      snapshot: null,
      clusterError: null,
    });
    const frame = drawWatchFrame(view, historyEntry(many).transitions, f.now);
    expect(frame).toContain(
      `Transitions (latest ${recentTransitions} of 12; \`switchyard history\` has all):`,
    );
    expect(frame).toContain('tick-11');
    expect(frame).not.toContain('tick-3 ');
    expect(frame).not.toContain('Revisions not shown');
  });
});
