// Acts 1–3 of the demo, on the blue-green target `api`: adopt a running Deployment, release v2 whose
// pre-promotion analysis passes (promoted, blue scaled down), release v3 whose analysis fails
// (rolled back before any traffic moved). Each act checks the cluster, not only the release record.
import type { AnalysisRun } from '../../../shared/analysis/run.ts';
import { applyDocuments, type DemoContext, follow, nextReleaseId, push } from './context.ts';
import { type ServiceSample, watchService } from './observe.ts';
import { type Act, percent, short, shown } from './report.ts';
import { apiTarget, repositories, requestSeries } from './targets.ts';
import { createWorkload, deployment, imageOf, selectedRevision } from './workloads.ts';

const image = (version: number) => imageOf(repositories.api, version);
/** The Prometheus job of this run's series. */
const job = (ctx: DemoContext) => `demo-${ctx.run}`;

function fail(message: string): never {
  throw new Error(message);
}

/** The pre-promotion analysis in one phrase: "Successful: error rate 1.0%, 1.0% (passes below 5%)". */
function analysisLine(run: AnalysisRun | null): string {
  if (!run) return 'no pre-promotion analysis ran';
  const values = (run.metrics[0]?.measurements ?? []).map((x) => percent(x.value)).join(', ');
  return `pre-promotion analysis ${run.phase}: error rate ${values} (passes below 5%)`;
}

/** Fails unless the Service listed ready endpoints in every sample. */
function neverEmpty(samples: ServiceSample[], service: string): string {
  if (samples.length === 0) fail(`no sample of Service ${service} was taken`);
  const empty = samples.find((s) => s.ready === 0);
  if (empty) fail(`Service ${service} listed no ready endpoint at ${new Date(empty.at).toISOString()}`);
  const least = Math.min(...samples.map((s) => s.ready));
  return `${samples.length} samples, never fewer than ${least} ready endpoints`;
}

export const adopt: Act<DemoContext> = {
  title: 'adopt the running service api',
  async run(ctx, p) {
    await createWorkload(ctx, 'api', image(1), ['api', 'api-preview']);
    p.ok(
      'namespace demo: a plain Deployment api (v1, 3 replicas) serves through Services api and api-preview',
    );
    const file = await applyDocuments(ctx, 'api.yaml', [apiTarget(ctx.status.prometheusUrl!, job(ctx))]);
    p.ok(`switchyard apply -f ${shown(file)}: target api (blue-green, pre-promotion analysis on Prometheus)`);

    const id = await nextReleaseId(ctx, 'api');
    const samples = watchService(ctx, 'api');
    await push(ctx, image(1), 'v1');
    p.ok(`switchyard push ${short(image(1))} --tag v1   (the image api runs now: adoption only)`);
    const r = await follow(ctx, id, p);
    const served = neverEmpty(await samples.stop(), 'api');
    if (r.phase !== 'Succeeded' || !r.adoption) fail(`${id} ended ${r.phase}: ${r.reason ?? 'no adoption'}`);
    const first = r.adoption.revision;
    if ((await selectedRevision(ctx, 'api')) !== first.revision)
      fail(`Service api does not select the adopted revision ${first.revision}`);
    const plain = await deployment(ctx, 'api');
    if (plain?.spec?.replicas !== 0)
      fail(`the original Deployment api still has ${plain?.spec?.replicas} replicas`);
    const rev = await deployment(ctx, first.deployment);
    p.ok(
      `Service api selects ${first.deployment} (${rev?.status?.readyReplicas ?? 0}/3 ready); Deployment api is scaled to 0 and kept`,
    );
    p.ok(`api served all along: ${served}`);
    return `${id} Succeeded: adopted, no downtime`;
  },
};

export const releaseV2: Act<DemoContext> = {
  title: 'api v2 blue-green, analysis passes',
  needs: [1],
  async run(ctx, p) {
    await ctx.stack.backfillPrometheus(requestSeries(job(ctx), image(2), 1));
    p.ok("Prometheus: v2's request counters of the last 10 minutes loaded (1% errors)");
    const id = await nextReleaseId(ctx, 'api');
    const blueRevision = await selectedRevision(ctx, 'api');
    const samples = watchService(ctx, 'api');
    await push(ctx, image(2), 'v2');
    p.ok(`switchyard push ${short(image(2))} --tag v2`);
    const r = await follow(ctx, id, p);
    const seen = await samples.stop();
    const served = neverEmpty(seen, 'api');
    if (r.phase !== 'Succeeded') fail(`${id} ended ${r.phase}: ${r.reason}`);
    const green = r.candidate!;
    const blue = r.stable!;
    if (r.analysis.pre?.phase !== 'Successful') fail(`${analysisLine(r.analysis.pre)}`);
    p.ok(analysisLine(r.analysis.pre));
    if ((await selectedRevision(ctx, 'api')) !== green.revision)
      fail(`Service api does not select ${green.deployment} after the switch`);
    if (blueRevision !== blue.revision)
      fail(`Service api selected ${blueRevision} before ${id}, not ${blue.revision}`);
    const ready = (await deployment(ctx, green.deployment))?.status?.readyReplicas ?? 0;
    p.ok(`switch: Service api moved from ${blue.deployment} to ${green.deployment} (${ready}/3 ready)`);
    const old = await deployment(ctx, blue.deployment);
    if (old?.spec?.replicas !== 0) fail(`${blue.deployment} still has ${old?.spec?.replicas} replicas`);
    p.ok(`scale-down: ${blue.deployment} (v1) scaled to 0 after scaleDownDelaySeconds 5, kept for undo`);
    p.ok(`api served all along: ${served}`);
    return `${id} Succeeded: analysis passed, switched to v2`;
  },
};

export const releaseV3: Act<DemoContext> = {
  title: 'api v3, analysis fails',
  needs: [2],
  async run(ctx, p) {
    await ctx.stack.backfillPrometheus(requestSeries(job(ctx), image(3), 20));
    p.ok("Prometheus: v3's request counters of the last 10 minutes loaded (20% errors)");
    const id = await nextReleaseId(ctx, 'api');
    const v2 = await selectedRevision(ctx, 'api');
    const samples = watchService(ctx, 'api');
    await push(ctx, image(3), 'v3');
    p.ok(`switchyard push ${short(image(3))} --tag v3`);
    const r = await follow(ctx, id, p);
    const seen = await samples.stop();
    const served = neverEmpty(seen, 'api');
    if (r.phase !== 'RolledBack') fail(`${id} ended ${r.phase}, not RolledBack: ${r.reason}`);
    if (r.analysis.pre?.phase !== 'Failed')
      fail(`expected a failed analysis, got ${analysisLine(r.analysis.pre)}`);
    p.ok(analysisLine(r.analysis.pre));
    const moved = seen.find((s) => s.revision !== v2);
    if (moved)
      fail(`Service api selected ${moved.revision || 'no revision'} at ${new Date(moved.at).toISOString()}`);
    if ((await selectedRevision(ctx, 'api')) !== v2) fail('Service api no longer selects v2');
    p.ok(
      `Service api selected v2 (${r.stable!.deployment}) in every one of ${seen.length} samples: blue never left`,
    );
    if (await deployment(ctx, r.candidate!.deployment))
      fail(`green ${r.candidate!.deployment} was not removed`);
    const blue = await deployment(ctx, r.stable!.deployment);
    p.ok(
      `green ${r.candidate!.deployment} removed; ${r.stable!.deployment} keeps ${blue?.status?.readyReplicas ?? 0}/3 ready (${served})`,
    );
    return `${id} RolledBack: analysis failed, stayed on v2`;
  },
};
