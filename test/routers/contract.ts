// The contract suite every traffic router passes (each router's test file calls it with its own
// fixture), so the canary engine can rely on the same behaviour from all of them.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/process.ts';
import type { RouterContext, TrafficRouter } from '../../shared/routers/router.ts';

export interface RouterCase<C> {
  name: string;
  router: TrafficRouter<C>;
  /** A fresh namespace with the stable and canary revisions, Services and the user's routing object. */
  setup(): Promise<{ config: C; ctx: RouterContext; teardown(): Promise<void> }>;
  /** Stands in for the data plane where one is needed (e.g. marks the HTTPRoute Accepted). */
  settle?(config: C, ctx: RouterContext): Promise<void>;
  /** Whether the router can carry header routes (the replica-ratio router cannot). */
  headerRoutes: boolean;
  /** Weights the router reaches exactly (the replica-ratio router reaches what replica counts allow). */
  exactWeights: number[];
}

export function routerContract<C>(c: RouterCase<C>): void {
  describe(`${c.name} router contract`, () => {
    const observed = async (config: C, ctx: RouterContext, weight: number) => {
      await c.settle?.(config, ctx);
      return waitFor(
        async () => {
          const s = await c.router.observe(config, ctx);
          return s.accepted && s.weight === weight ? s : undefined;
        },
        { timeoutMs: 30_000, what: `${c.name} to report weight ${weight} accepted` },
      );
    };

    it('prepare leaves all traffic on stable; setWeight is read back by observe', async () => {
      const { config, ctx, teardown } = await c.setup();
      try {
        await c.router.prepare(config, ctx);
        await c.router.prepare(config, ctx); // idempotent
        expect((await observed(config, ctx, 0)).weight).toBe(0);
        for (const w of c.exactWeights) {
          await c.router.setWeight(config, ctx, w, null);
          expect((await observed(config, ctx, w)).weight).toBe(w);
        }
      } finally {
        await teardown();
      }
    });

    it('setting the same weight twice changes nothing the second time', async () => {
      const { config, ctx, teardown } = await c.setup();
      try {
        await c.router.prepare(config, ctx);
        const w = c.exactWeights[0]!;
        await c.router.setWeight(config, ctx, w, null);
        const first = await observed(config, ctx, w);
        await c.router.setWeight(config, ctx, w, null);
        expect(await observed(config, ctx, w)).toEqual(first);
      } finally {
        await teardown();
      }
    });

    it('finalize returns all traffic to stable and is idempotent', async () => {
      const { config, ctx, teardown } = await c.setup();
      try {
        await c.router.prepare(config, ctx);
        await c.router.setWeight(config, ctx, c.exactWeights.at(-1)!, null);
        await c.router.finalize(config, ctx);
        await c.router.finalize(config, ctx);
        const s = await observed(config, ctx, 0);
        expect(s.headerRoute).toBeNull();
      } finally {
        await teardown();
      }
    });

    it('header routes are set and read back where the router supports them', async () => {
      if (!c.headerRoutes) return;
      const { config, ctx, teardown } = await c.setup();
      try {
        await c.router.prepare(config, ctx);
        const route = { name: 'testers', header: { name: 'x-canary', value: 'always' } };
        await c.router.setWeight(config, ctx, 0, route);
        await c.settle?.(config, ctx);
        const s = await waitFor(
          async () => {
            const st = await c.router.observe(config, ctx);
            return st.accepted && st.headerRoute ? st : undefined;
          },
          { timeoutMs: 30_000, what: 'the header route to be in force' },
        );
        expect(s.headerRoute).toMatchObject({ header: route.header });
      } finally {
        await teardown();
      }
    });
  });
}
