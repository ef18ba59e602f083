// Analysis as the strategies run it: the facts a template may use, one step of a blue-green pre- or
// post-promotion analysis, and the canary's background and step runs. Pure.
import { type ReleaseFacts, resolveAnalysis } from '../analysis/resolve.ts';
import { type AnalysisRun, advanceRun, nextDue, startRun } from '../analysis/run.ts';
import type { AnalysisRef } from '../analysis/schema.ts';
import { advance, type Observation } from './kernel.ts';
import type { Release } from './release.ts';
import { type EngineTarget, strategyOf } from './target.ts';

export type AnalysisOutcome =
  /** No analysis configured. */
  | { kind: 'none' }
  | { kind: 'waiting'; release: Release }
  | { kind: 'passed'; patch: AnalysisPatch }
  | { kind: 'failed' | 'inconclusive'; reason: string; patch: AnalysisPatch };

/** What an analysis step changes of a release: its runs, nothing else. */
export type AnalysisPatch = Partial<Pick<Release, 'analysis'>>;

/** The facts of a release that analysis templates may use as {{release.NAME}}. */
export function factsOf(target: EngineTarget, release: Release): ReleaseFacts {
  const bg = strategyOf(target);
  return {
    id: release.id,
    namespace: target.spec.namespace,
    workload: target.spec.workload,
    activeService: bg.activeService,
    previewService: bg.previewService ?? '',
    greenRevision: release.candidate?.revision ?? '',
    greenDeployment: release.candidate?.deployment ?? '',
    blueRevision: release.stable?.revision ?? '',
    image: release.image,
  };
}

/**
 * One step of a pre- or post-promotion analysis: starts the run, records the measurements the step
 * took, and says whether the release waits, goes on, rolls back or pauses for a human.
 */
export function analysisStep(
  target: EngineTarget,
  release: Release,
  kind: 'pre' | 'post',
  ref: AnalysisRef | undefined,
  obs: Observation,
  now: number,
): AnalysisOutcome {
  if (!ref) return { kind: 'none' };
  const label = kind === 'pre' ? 'pre-promotion analysis' : 'post-promotion analysis';
  const withRun = (run: NonNullable<Release['analysis']['pre']>): AnalysisPatch => ({
    analysis: { ...release.analysis, [kind]: run },
  });
  let run = release.analysis[kind];
  if (!run) {
    const specs = resolveAnalysis(ref, target.spec.analysis?.templates ?? [], factsOf(target, release));
    if ('error' in specs) return { kind: 'failed', reason: `${label}: ${specs.error}`, patch: {} };
    run = startRun(kind, specs, now);
  } else if (run.phase === 'Running') {
    run = advanceRun(run, obs.measurements?.[kind] ?? {}, now);
  }
  switch (run.phase) {
    case 'Running': {
      const due = nextDue(run) ?? now;
      return {
        kind: 'waiting',
        release: advance(release, now, {
          reason: `${label} running`,
          wakeIn: Math.max(0, due - now),
          patch: withRun(run),
        }),
      };
    }
    case 'Successful':
      return { kind: 'passed', patch: withRun(run) };
    case 'Failed':
      return { kind: 'failed', reason: `${label} failed: ${run.message}`, patch: withRun(run) };
    case 'Inconclusive':
      return {
        kind: 'inconclusive',
        reason: `${label} inconclusive: ${run.message}; promote to go on or abort`,
        patch: withRun(run),
      };
  }
}

/** When the background analysis needs the release again while it waits (null: not running). */
export function backgroundWake(background: AnalysisRun | null, now: number): number | null {
  const due = background?.phase === 'Running' ? nextDue(background) : null;
  return due === null ? null : Math.max(0, due - now);
}

/** Starts or advances one analysis run of a canary (background or a step's). */
export function stepAnalysis(
  target: EngineTarget,
  release: Release,
  kind: 'background' | 'step',
  ref: AnalysisRef,
  run: AnalysisRun | null,
  obs: Observation,
  now: number,
): { run: AnalysisRun } | { error: string } {
  if (!run) {
    const specs = resolveAnalysis(ref, target.spec.analysis?.templates ?? [], factsOf(target, release));
    if ('error' in specs) return specs;
    return { run: startRun(kind, specs, now) };
  }
  if (run.phase !== 'Running') return { run };
  return { run: advanceRun(run, obs.measurements?.[kind] ?? {}, now) };
}
