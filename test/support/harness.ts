// The harness of an end-to-end release test file: each test starts its own fixture with the
// invariant checker sampling beside it; after each test the checker's verdict is asserted and the
// fixture's namespace removed.
import { afterEach, expect } from 'vitest';
import { type InvariantChecker, watchInvariants } from './invariants.ts';
import { type Fixture, type FixtureOptions, releaseFixture } from './release.ts';
import type { StackInfo } from './stack.ts';

export interface HarnessOptions {
  requireSamples?: boolean;
  /**
   * The stack the fixtures work on, asked at each start (a private stack is only up once its
   * file's beforeAll ran); the run's shared stack by default.
   */
  stack?: () => StackInfo;
}

export function releaseHarness(opts: HarnessOptions = {}) {
  let f: Fixture | undefined;
  let invariants: InvariantChecker | undefined;
  afterEach(async () => {
    const result = await invariants?.stop();
    await f?.close();
    f = undefined;
    invariants = undefined;
    expect(result?.violations ?? []).toEqual([]);
    if (opts.requireSamples) expect(result?.samples ?? 1).toBeGreaterThan(0);
  });
  return {
    /** A new fixture for this test, watched by the invariant checker until the test ends. */
    async start(prefix: string, fixtureOpts: FixtureOptions = {}): Promise<Fixture> {
      f = await releaseFixture(prefix, fixtureOpts, opts.stack?.());
      invariants = watchInvariants(f);
      return f;
    },
  };
}
