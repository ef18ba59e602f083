// The contract suite every metric provider passes (each provider's test file calls it with its own
// working and unreachable sources), so the engine can rely on the same behaviour from all of them.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/process.ts';
import type { MeasureContext, MetricProvider, ProviderResult } from '../../shared/analysis/provider.ts';

export interface ContractCase<C> {
  name: string;
  provider: MetricProvider<C>;
  /** A configuration whose source answers (a value or a verdict), with its context. */
  working(): Promise<{ config: C; ctx: MeasureContext }>;
  /** A configuration whose source cannot be reached at all. */
  unreachable(): Promise<{ config: C; ctx: MeasureContext }>;
  /** How long a `running` measurement may take to finish (default 30 s). */
  finishWithinMs?: number;
}

async function settle<C>(
  c: ContractCase<C>,
  config: C,
  ctx: MeasureContext,
  first: ProviderResult,
): Promise<ProviderResult> {
  let result = first;
  if (result.kind !== 'running') return result;
  const resume = c.provider.resume;
  expect(resume, `${c.name} returned running but has no resume()`).toBeDefined();
  return waitFor(
    async () => {
      if (result.kind === 'running') result = await resume!.call(c.provider, config, ctx, result.state);
      return result.kind === 'running' ? undefined : result;
    },
    { timeoutMs: c.finishWithinMs ?? 30_000, intervalMs: 250, what: `${c.name} to finish a measurement` },
  );
}

export function providerContract<C>(c: ContractCase<C>): void {
  describe(`${c.name} provider contract`, () => {
    it('measures a reachable source: a value or a verdict, JSON-serialisable, without throwing', async () => {
      const { config, ctx } = await c.working();
      const result = await settle(c, config, ctx, await c.provider.measure(config, ctx));
      expect(['value', 'verdict']).toContain(result.kind);
      expect(JSON.parse(JSON.stringify(result))).toEqual(result);
    });

    it('turns an unreachable source into an error result with a message, never an exception', async () => {
      const { config, ctx } = await c.unreachable();
      const result = await settle(c, config, ctx, await c.provider.measure(config, ctx));
      expect(result.kind).toBe('error');
      expect((result as { message: string }).message.length).toBeGreaterThan(0);
    });

    it('measuring twice with the same context comes to the same outcome', async () => {
      const { config, ctx } = await c.working();
      const first = await settle(c, config, ctx, await c.provider.measure(config, ctx));
      const second = await settle(c, config, ctx, await c.provider.measure(config, ctx));
      expect(second.kind).toBe(first.kind);
      if (first.kind === 'verdict' && second.kind === 'verdict') expect(second.phase).toBe(first.phase);
    });
  });
}
