// The old revision's drain (spec.drain): after the switch, clients holding long-lived connections
// (gRPC, WebSockets) keep sending to the old revision's pods, whatever the Service now selects. A
// target with a drain holds the old revision until each drain metric has been Successful once (its
// traffic below a threshold), at most maxWaitSeconds, instead of a fixed scale-down delay. The run
// and its measurements stay in the release (analysis.drain). Pure.
import { resolveAnalysis } from '../analysis/resolve.ts';
import { type AnalysisRun, advanceRun, nextDue, startRun } from '../analysis/run.ts';
import { factsOf } from './analysis.ts';
import { type Decision, go, type RunningContext } from './kernel.ts';
import { type DrainSpec, type EngineTarget, strategyOf } from './target.ts';

/** When ScalingDown first looks, `since` ms after the switch: at once with a drain (it measures). */
export function scaleDownWake(target: EngineTarget, since: number): number {
  if (target.spec.drain) return 0;
  return Math.max(0, strategyOf(target).scaleDownDelaySeconds * 1000 - since);
}

/**
 * Null once the old revision may go (drained, or held for maxWaitSeconds); else the hold, with the
 * drain run started or advanced by this step's measurements.
 */
export function holdUntilDrained(ctx: RunningContext, drain: DrainSpec): Decision | null {
  const { release, now } = ctx;
  if (release.analysis.drain && release.analysis.drain.phase !== 'Running') return null;
  const old = release.stable.deployment;
  const run = drainRun(ctx, drain);
  const patch = (r: AnalysisRun) => ({ analysis: { ...release.analysis, drain: r } });
  if (run.phase === 'Successful') {
    const reason = `${old} drained after ${seconds(now - run.startedAt)}: ${lastValues(run)}`;
    return go(ctx, { reason, wakeIn: 0, patch: patch(run) });
  }
  if (now - run.startedAt < drain.maxWaitSeconds * 1000) {
    // One reason for the whole hold: each measurement is in the run, not in the history.
    const end = run.startedAt + drain.maxWaitSeconds * 1000;
    const due = Math.min(nextDue(run) ?? end, end);
    const reason = `holding ${old} until it has drained (at most ${drain.maxWaitSeconds} s)`;
    return go(ctx, { reason, wakeIn: Math.max(0, due - now), patch: patch(run) });
  }
  const why = run.message ?? lastValues(run);
  const given: AnalysisRun = {
    ...run,
    phase: 'Inconclusive',
    finishedAt: now,
    message: `not drained: ${why}`,
  };
  const reason = `${old} not drained within ${drain.maxWaitSeconds} s (${why}): scaling it down`;
  return go(ctx, { reason, wakeIn: 0, patch: patch(given) });
}

/**
 * The drain run, started on the first look and advanced by the measurements after. A drain whose
 * templates do not resolve has no metrics and its error as message: it holds the old revision for
 * the whole wait, as a drain never confirmed would.
 */
function drainRun(ctx: RunningContext, drain: DrainSpec): AnalysisRun {
  const { target, release, now } = ctx;
  const started = release.analysis.drain;
  if (started) {
    return started.metrics.length === 0
      ? started
      : advanceRun(started, ctx.obs.measurements?.drain ?? {}, now);
  }
  const specs = resolveAnalysis(drain, target.spec.analysis?.templates ?? [], factsOf(target, release));
  if ('error' in specs) return { ...startRun('drain', [], now), message: specs.error };
  return startRun(
    'drain',
    specs.map((s) => ({ ...s, untilSuccessful: true })),
    now,
  );
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** Each metric's last value, as the reason shows it: "connections = 0". */
function lastValues(run: AnalysisRun): string {
  return run.metrics
    .map((m) => {
      const last = m.measurements.findLast((x) => x.phase !== 'Running');
      if (!last) return `${m.spec.name} not measured yet`;
      if (last.phase === 'Error') return `${m.spec.name}: ${last.message ?? 'error'}`;
      return `${m.spec.name} = ${JSON.stringify(last.value ?? null)}`;
    })
    .join(', ');
}
