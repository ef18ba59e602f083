// Takes the measurements an analysis step needs: for each due metric of the release's running
// analysis, ask its provider (or look again at a measurement still running, such as a Job).
// Provider faults come back as `error` results; this never throws.

import type { KubeConfig } from '@kubernetes/client-node';
import { googleAuthToken } from '../adapters/google-token.ts';
import type { MeasureContext, ProviderResult } from '../analysis/provider.ts';
import { providers } from '../analysis/providers/index.ts';
import type { ProviderKind } from '../analysis/providers/schemas.ts';
import { type AnalysisRun, dueMetrics, type MetricRun } from '../analysis/run.ts';
import type { Release } from '../engine/release.ts';
import type { EngineTarget } from '../engine/target.ts';

/** The analysis run a release is in, if any. */
export function currentRun(release: Release): AnalysisRun | null {
  const kind =
    release.phase === 'PrePromotionAnalysis'
      ? 'pre'
      : release.phase === 'PostPromotionAnalysis'
        ? 'post'
        : null;
  const run = kind ? release.analysis?.[kind] : null;
  return run && run.phase === 'Running' ? run : null;
}

function context(
  target: EngineTarget,
  release: Release,
  run: AnalysisRun,
  m: MetricRun,
  kubeConfig: KubeConfig,
  now: () => number,
): MeasureContext {
  const last = m.measurements.at(-1);
  return {
    namespace: target.spec.namespace,
    releaseId: release.id,
    metric: m.spec.name,
    index: last?.phase === 'Running' ? last.index : m.measurements.length,
    run: run.kind,
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
): Promise<Record<string, ProviderResult> | undefined> {
  const run = currentRun(release);
  if (!run) return undefined;
  const results: Record<string, ProviderResult> = {};
  await Promise.all(
    dueMetrics(run, now()).map(async (m) => {
      const provider = providers[m.spec.provider.kind as ProviderKind];
      const config = m.spec.provider.config as never;
      const ctx = context(target, release, run, m, kubeConfig, now);
      const last = m.measurements.at(-1);
      try {
        if (!provider) {
          results[m.spec.name] = { kind: 'error', message: `unknown provider ${m.spec.provider.kind}` };
          return;
        }
        const running = last?.phase === 'Running' && last.state;
        const result =
          running && provider.resume
            ? await provider.resume(config, ctx, last.state!)
            : await provider.measure(config, ctx);
        results[m.spec.name] = result;
        // What a finished measurement created (a Job) is removed right away.
        if (result.kind !== 'running' && provider.cleanup) {
          await provider
            .cleanup(config, ctx, (running ? last.state : undefined) ?? {})
            .catch(() => undefined);
        }
      } catch (err) {
        results[m.spec.name] = { kind: 'error', message: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
  return results;
}

/** Removes what measurements still running left behind once their run has ended (best effort). */
export async function cleanUpFinishedRun(
  target: EngineTarget,
  release: Release,
  kubeConfig: KubeConfig,
  now: () => number,
): Promise<void> {
  for (const run of [release.analysis?.pre, release.analysis?.post]) {
    if (!run || run.phase === 'Running') continue;
    for (const m of run.metrics) {
      const last = m.measurements.at(-1);
      const provider = providers[m.spec.provider.kind as ProviderKind];
      if (last?.phase !== 'Running' || !last.state || !provider?.cleanup) continue;
      await provider
        .cleanup(
          m.spec.provider.config as never,
          context(target, release, run, m, kubeConfig, now),
          last.state,
        )
        .catch(() => undefined);
    }
  }
}
