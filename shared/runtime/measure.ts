// Takes the measurements an analysis step needs: for each due metric of the release's running
// analyses, ask its provider (or look again at a measurement still running, such as a Job).
// Provider faults come back as `error` results; this never throws.
import type { KubeConfig } from '@kubernetes/client-node';
import { googleAuthToken } from '../adapters/google-token.ts';
import type { MeasureContext, ProviderResult } from '../analysis/provider.ts';
import { providers } from '../analysis/providers/index.ts';
import type { ProviderKind } from '../analysis/providers/schemas.ts';
import { type AnalysisRun, dueMetrics, type MetricRun, type RunKind } from '../analysis/run.ts';
import type { Release } from '../engine/release.ts';
import type { EngineTarget } from '../engine/target.ts';

/** A run with the name it has in deterministic object names (a canary's step runs are numbered). */
interface NamedRun {
  run: AnalysisRun;
  label: string;
}

/** Every analysis run of the release, running or not, with its label. */
function allRuns(release: Release): NamedRun[] {
  const runs: NamedRun[] = [];
  if (release.analysis?.pre) runs.push({ run: release.analysis.pre, label: 'pre' });
  if (release.analysis?.post) runs.push({ run: release.analysis.post, label: 'post' });
  if (release.analysis?.drain) runs.push({ run: release.analysis.drain, label: 'drain' });
  if (release.canary?.background) runs.push({ run: release.canary.background, label: 'background' });
  for (const [i, run] of (release.canary?.stepRuns ?? []).entries()) runs.push({ run, label: `step-${i}` });
  return runs;
}

/** The analysis runs the release's current phase measures. */
export function runningRuns(release: Release): NamedRun[] {
  const measuring: Partial<Record<Release['phase'], RunKind[]>> = {
    PrePromotionAnalysis: ['pre'],
    PostPromotionAnalysis: ['post'],
    Progressing: ['background', 'step'],
    AwaitingPromotion: ['background'],
    ScalingDown: ['drain'],
  };
  const kinds = measuring[release.phase] ?? [];
  return allRuns(release).filter(({ run }) => run.phase === 'Running' && kinds.includes(run.kind));
}

function context(
  target: EngineTarget,
  release: Release,
  named: NamedRun,
  m: MetricRun,
  kubeConfig: KubeConfig,
  now: () => number,
): MeasureContext {
  const last = m.measurements.at(-1);
  return {
    namespace: target.spec.namespace,
    releaseId: release.id,
    metric: m.spec.name,
    index: last?.phase === 'Running' ? last.index : last ? last.index + 1 : 0,
    run: named.label,
    kubeConfig,
    googleToken: googleAuthToken,
    now,
  };
}

export async function takeMeasurements(
  target: EngineTarget,
  release: Release,
  kubeConfig: KubeConfig,
  now: () => number,
): Promise<Partial<Record<RunKind, Record<string, ProviderResult>>> | undefined> {
  const runs = runningRuns(release);
  if (runs.length === 0) return undefined;
  const results: Partial<Record<RunKind, Record<string, ProviderResult>>> = {};
  await Promise.all(
    runs.flatMap((named) => {
      const byMetric: Record<string, ProviderResult> = {};
      results[named.run.kind] = byMetric;
      return dueMetrics(named.run, now()).map(async (m) => {
        const provider = providers[m.spec.provider.kind as ProviderKind];
        const config = m.spec.provider.config as never;
        const ctx = context(target, release, named, m, kubeConfig, now);
        const last = m.measurements.at(-1);
        try {
          if (!provider) {
            byMetric[m.spec.name] = { kind: 'error', message: `unknown provider ${m.spec.provider.kind}` };
            return;
          }
          const running = last?.phase === 'Running' && last.state;
          const result =
            running && provider.resume
              ? await provider.resume(config, ctx, last.state!)
              : await provider.measure(config, ctx);
          byMetric[m.spec.name] = result;
          // What a finished measurement created (a Job) is removed right away.
          if (result.kind !== 'running' && provider.cleanup) {
            await provider
              .cleanup(config, ctx, (running ? last.state : undefined) ?? {})
              .catch(() => undefined);
          }
        } catch (err) {
          byMetric[m.spec.name] = {
            kind: 'error',
            message: err instanceof Error ? err.message : String(err),
          };
        }
      });
    }),
  );
  return results;
}

/** Removes what measurements still running left behind once their run has ended (best effort). */
export async function cleanUpFinishedRuns(
  target: EngineTarget,
  release: Release,
  kubeConfig: KubeConfig,
  now: () => number,
): Promise<void> {
  for (const named of allRuns(release)) {
    if (named.run.phase === 'Running') continue;
    for (const m of named.run.metrics) {
      const last = m.measurements.at(-1);
      const provider = providers[m.spec.provider.kind as ProviderKind];
      if (last?.phase !== 'Running' || !last.state || !provider?.cleanup) continue;
      await provider
        .cleanup(
          m.spec.provider.config as never,
          context(target, release, named, m, kubeConfig, now),
          last.state,
        )
        .catch(() => undefined);
    }
  }
}
