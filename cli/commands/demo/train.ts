// Acts 5 and 6 of the demo, a release train of three services (frontend -> bff -> backend, each
// depending on the next): v2 pushed in reverse order, frontend first, yet switched backend, then
// bff, then frontend, with the switch times read from the Services in the cluster; then v3, whose
// backend fails its pre-promotion analysis, so bff and frontend are aborted without taking traffic.
import { isTerminal } from '../../../shared/engine/phase.ts';
import type { Release } from '../../../shared/engine/release.ts';
import { applyDocuments, type DemoContext, follow, nextReleaseId, push } from './context.ts';
import { type ServiceSample, watchService } from './observe.ts';
import { type Act, type Progress, shown } from './report.ts';
import { repositories, requestSeries, trainTargets } from './targets.ts';
import { createWorkload, imageOf, selectedRevision } from './workloads.ts';

/** The train's members, each depending on the next: pushed in this order, switched in reverse. */
export const trainMembers = ['frontend', 'bff', 'backend'] as const;
type Member = (typeof trainMembers)[number];

const image = (member: Member, version: number) => imageOf(repositories[member], version);
const job = (ctx: DemoContext) => `demo-train-${ctx.run}`;

function fail(message: string): never {
  throw new Error(message);
}

/** Pushes `version` of every member in the train's push order; returns their release ids. */
async function pushTrain(ctx: DemoContext, version: number, p: Progress) {
  const ids = {} as Record<Member, string>;
  for (const member of trainMembers) {
    ids[member] = await nextReleaseId(ctx, member);
    await push(ctx, image(member, version), `v${version}`);
    p.ok(`switchyard push ${repositories[member].split('/').at(-1)}@… --tag v${version}`);
  }
  return ids;
}

/** Follows every member's release to its end, at once: the lines come in the order things happen. */
async function followTrain(ctx: DemoContext, ids: Record<Member, string>, p: Progress) {
  const done = await Promise.all(trainMembers.map((m) => follow(ctx, ids[m], p)));
  return Object.fromEntries(trainMembers.map((m, i) => [m, done[i]!])) as Record<Member, Release>;
}

/** When a Service's samples first show `revision` selected. */
function selectedAt(samples: ServiceSample[], revision: string): number | null {
  return samples.find((s) => s.revision === revision)?.at ?? null;
}

export const trainInOrder: Act<DemoContext> = {
  title: 'train v2, frontend pushed first',
  async run(ctx, p) {
    // Backend v3's request counters (20% errors) are loaded now, so act 6 needs no Prometheus restart.
    const v2 = requestSeries(job(ctx), image('backend', 2), 1);
    const v3 = requestSeries(job(ctx), image('backend', 3), 20).split('\n').slice(1);
    await ctx.stack.backfillPrometheus([v2, ...v3].join('\n'));
    await Promise.all(trainMembers.map((m) => createWorkload(ctx, m, image(m, 1), [m])));
    const file = await applyDocuments(ctx, 'train.yaml', trainTargets(ctx.status.prometheusUrl!, job(ctx)));
    p.ok(
      `switchyard apply -f ${shown(file)}: frontend dependsOn bff, bff dependsOn backend (backend with a pre-promotion analysis)`,
    );
    const adoptions = await Promise.all(
      trainMembers.map(async (m) => {
        const id = await nextReleaseId(ctx, m);
        await push(ctx, image(m, 1), 'v1');
        return follow(ctx, id, p);
      }),
    );
    if (adoptions.some((r) => r.phase !== 'Succeeded')) fail('an adoption of v1 did not succeed');
    p.ok('v1 of frontend, bff and backend adopted (their running Deployments)');

    const watchers = trainMembers.map((m) => watchService(ctx, m, 50));
    const ids = await pushTrain(ctx, 2, p);
    const lastPush = Date.now();
    const done = await followTrain(ctx, ids, p);
    const samples = await Promise.all(watchers.map((w) => w.stop()));
    const times = trainMembers.map((m, i) => {
      const r = done[m];
      if (r.phase !== 'Succeeded') fail(`${r.id} ended ${r.phase}: ${r.reason}`);
      const at = selectedAt(samples[i]!, r.candidate!.revision);
      if (at === null) fail(`Service ${m} never selected ${r.candidate!.deployment}`);
      return at;
    });
    const [frontend, bff, backend] = times as [number, number, number];
    if (!(backend < bff && bff < frontend))
      fail('the Services did not switch in the order backend, bff, frontend');
    const after = (t: number) => `+${((t - lastPush) / 1000).toFixed(1)} s`;
    p.ok(
      `switched in order, read from the Services after the last push: backend ${after(backend)}, bff ${after(bff)}, frontend ${after(frontend)}`,
    );
    return `${ids.backend} → ${ids.bff} → ${ids.frontend} switched in order`;
  },
};

export const trainBackendFails: Act<DemoContext> = {
  title: 'train v3, backend fails',
  needs: [5],
  async run(ctx, p) {
    const serving = await Promise.all(trainMembers.map((m) => selectedRevision(ctx, m)));
    const watchers = trainMembers.map((m) => watchService(ctx, m, 50));
    const ids = await pushTrain(ctx, 3, p);
    const done = await followTrain(ctx, ids, p);
    const samples = await Promise.all(watchers.map((w) => w.stop()));
    if (done.backend.phase !== 'RolledBack')
      fail(`${ids.backend} ended ${done.backend.phase}, not RolledBack`);
    p.ok(`${ids.backend} RolledBack: ${done.backend.reason ?? 'analysis failed'}`);
    for (const [i, m] of trainMembers.entries()) {
      const r = done[m];
      if (m !== 'backend') {
        if (r.phase !== 'Aborted' || !r.reason?.includes(ids.backend))
          fail(`${r.id} ended ${r.phase} (${r.reason}), not Aborted because of ${ids.backend}`);
        if (r.switchedAt !== null) fail(`${r.id} switched before it was aborted`);
        p.ok(`${r.id} Aborted: ${r.reason}`);
      }
      const old = serving[i]!;
      const moved = samples[i]!.find((s) => s.revision !== old);
      if (moved) fail(`Service ${m} selected ${moved.revision} at ${new Date(moved.at).toISOString()}`);
      if (!isTerminal(r.phase)) fail(`${r.id} has not ended`);
    }
    p.ok(
      `Services frontend, bff and backend selected v2 in every one of ${samples.map((s) => s.length).join(', ')} samples`,
    );
    return `${ids.backend} RolledBack; ${ids.bff}, ${ids.frontend} Aborted`;
  },
};
