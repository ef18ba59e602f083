// Fixtures of a test file that each get the invariant checker (what serves keeps ready endpoints,
// nothing serving is scaled down) for as long as the test runs: after each test they are closed,
// and the test fails on any violation the checker saw.
import { afterEach, expect } from 'vitest';
import { type InvariantChecker, watchInvariants } from './invariants.ts';
import { type Fixture, type FixtureOptions, releaseFixture } from './release.ts';

/** Registers the clean-up with the file's afterEach; returns the function that makes a member. */
export function watchedMembers(): (prefix: string, opts?: FixtureOptions) => Promise<Fixture> {
  let members: { f: Fixture; invariants: InvariantChecker }[] = [];
  afterEach(async () => {
    const results = await Promise.all(members.map((m) => m.invariants.stop()));
    await Promise.all(members.map((m) => m.f.close()));
    members = [];
    expect(results.flatMap((r) => r.violations)).toEqual([]);
  });
  return async (prefix, opts = {}) => {
    const f = await releaseFixture(prefix, opts);
    members.push({ f, invariants: watchInvariants(f) });
    return f;
  };
}
