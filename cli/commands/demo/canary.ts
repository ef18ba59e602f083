// Act 4 of the demo: the target `web` releases v2 as a canary through a Gateway API HTTPRoute —
// 20% of the traffic, a 2 s pause, 50%, then a pause that waits for a human — and is promoted with
// a control message, as `switchyard promote` sends it. Every weight is read back from the route.
import { isTerminal } from '../../../shared/engine/phase.ts';
import { applyDocuments, control, type DemoContext, follow, nextReleaseId, push } from './context.ts';
import { acceptRoutes, createRoute, routeWeights, share, watchRoute } from './observe.ts';
import { type Act, short, shown } from './report.ts';
import { repositories, webTarget } from './targets.ts';
import { createWorkload, imageOf, selectedRevision } from './workloads.ts';

const image = (version: number) => imageOf(repositories.web, version);
const gateway = 'demo-gateway';

function fail(message: string): never {
  throw new Error(message);
}

/** True when `wanted` appears in `seen` in that order (other values may come between). */
function inOrder(seen: number[], wanted: number[]): boolean {
  let i = 0;
  for (const s of seen) if (s === wanted[i]) i += 1;
  return i === wanted.length;
}

export const canary: Act<DemoContext> = {
  title: 'web v2 canary through an HTTPRoute',
  async run(ctx, p) {
    await createWorkload(ctx, 'web', image(1), ['web', 'web-canary']);
    await createRoute(ctx, 'web', 'web', gateway);
    const accepting = acceptRoutes(ctx, 'web', gateway);
    const canaryShares: number[] = [];
    let id = 'web-?';
    const route = watchRoute(ctx, 'web', (weights) => {
      canaryShares.push(share(weights, 'web-canary'));
      const split = Object.keys(weights)
        .map((service) => `${service} ${share(weights, service)}%`)
        .join(' · ');
      p.info(`HTTPRoute web: ${split}`);
    });
    try {
      p.ok(
        `namespace demo: a plain Deployment web (v1, 3 replicas), Services web and web-canary, HTTPRoute web ` +
          `(a stand-in for the GKE Gateway controller accepts each generation of it)`,
      );
      const file = await applyDocuments(ctx, 'web.yaml', [webTarget()]);
      p.ok(
        `switchyard apply -f ${shown(file)}: target web (canary: setWeight 20, pause 2s, setWeight 50, pause {})`,
      );
      id = await nextReleaseId(ctx, 'web');
      await push(ctx, image(2), 'v2');
      p.ok(`switchyard push ${short(image(2))} --tag v2`);

      const paused = await follow(ctx, id, p, (r) => r.phase === 'AwaitingPromotion' || isTerminal(r.phase));
      if (paused.phase !== 'AwaitingPromotion') fail(`${id} ended ${paused.phase}: ${paused.reason}`);
      const inForce = paused.canary?.inForce?.weight;
      const read = share(await routeWeights(ctx, 'web'), 'web-canary');
      if (inForce !== 50 || read !== 50)
        fail(`expected 50% at the pause, release says ${inForce}%, route says ${read}%`);
      p.ok(`paused at step ${paused.canary!.step + 1} of 4 with 50% in force (read back from the HTTPRoute)`);

      const answer = await control(ctx, 'promote', 'web', 'canary looks good');
      p.ok(`switchyard promote web --reason "canary looks good": applied to ${answer.releaseId}`);
      const done = await follow(ctx, id, p);
      if (done.phase !== 'Succeeded') fail(`${id} ended ${done.phase}: ${done.reason}`);
      const final = await routeWeights(ctx, 'web');
      if (share(final, 'web') !== 100)
        fail(`HTTPRoute web ends with ${JSON.stringify(final)}, not all on web`);
      if ((await selectedRevision(ctx, 'web')) !== done.candidate!.revision)
        fail(`Service web does not select ${done.candidate!.deployment}`);
      p.ok(`HTTPRoute web back to web 100%; Service web selects ${done.candidate!.deployment} (v2)`);
    } finally {
      await route.stop();
      await accepting.stop();
    }
    if (!inOrder(canaryShares, [20, 50, 0]))
      fail(`the route's canary shares were ${canaryShares.join(' → ')}%, not 20 → 50 → 0`);
    return `${id} Succeeded: 20% → 50% → promote → 100% v2`;
  },
};
