// Release trains on the stack (SPEC §10): a target that depends on another switches its release of
// a version only after the dependency's release of that version has switched, whatever order the
// pushes came in, and is aborted before it takes traffic when the dependency's release fails. The
// invariant checker samples every member's active Service throughout.
import { afterEach, describe, expect, it } from 'vitest';
import type { Release } from '../../shared/engine/release.ts';
import { TargetStore } from '../../shared/target/store.ts';
import { validateReleaseTarget } from '../../shared/target/validate.ts';
import { type InvariantChecker, watchInvariants } from '../support/invariants.ts';
import { type Fixture, type FixtureOptions, releaseFixture } from '../support/release.ts';

const revisionLabel = 'switchyard.dev/revision';
let members: { f: Fixture; invariants: InvariantChecker }[] = [];

afterEach(async () => {
  const results = await Promise.all(members.map((m) => m.invariants.stop()));
  await Promise.all(members.map((m) => m.f.close()));
  members = [];
  expect(results.flatMap((r) => r.violations)).toEqual([]);
});

async function member(prefix: string, opts: FixtureOptions = {}): Promise<Fixture> {
  const f = await releaseFixture(prefix, opts);
  members.push({ f, invariants: watchInvariants(f) });
  return f;
}

/** When the release entered `phase` first, from its history. */
const entered = (r: Release, phase: string) => r.history.find((h) => h.to === phase)?.at;

describe('release trains', () => {
  it('a dependent pushed first waits with its candidate up, and switches only after its dependency switched', async () => {
    const backend = await member('tr-be');
    const bff = await member('tr-bff', { dependsOn: [backend.name] });
    await bff.push(2);
    const waiting = await bff.waitRelease(`${bff.name}-1`, (r) => r.phase === 'AwaitingDependencies');
    expect(waiting.reason).toContain(`a release of ${backend.name}`);
    expect(waiting.reason).toContain('release train v2');
    // Its candidate is deployed meanwhile, and traffic has not moved.
    expect((await bff.deployment(waiting.candidate!.deployment))?.status?.readyReplicas).toBe(3);
    expect((await bff.selector('api'))[revisionLabel]).toBe(waiting.stable!.revision);

    await backend.push(2);
    const be = await backend.waitRelease(`${backend.name}-1`);
    const dependent = await bff.waitRelease(`${bff.name}-1`);
    expect(be.phase).toBe('Succeeded');
    expect(dependent.phase).toBe('Succeeded');
    expect(dependent.switchedAt).toBeGreaterThan(be.switchedAt!);
    // Its checks (PrePromotionAnalysis) came after the dependency's switch, not before.
    expect(entered(dependent, 'PrePromotionAnalysis')!).toBeGreaterThanOrEqual(be.switchedAt!);
    expect((await bff.selector('api'))[revisionLabel]).toBe(dependent.candidate!.revision);
  });

  it("a dependency whose release of the version fails aborts the dependent's before it takes traffic, naming why", async () => {
    const backend = await member('tr-bad', { progressDeadlineSeconds: 6 });
    const bff = await member('tr-dep', { dependsOn: [backend.name] });
    // An image whose pods never pass readiness: the backend's release rolls back.
    await backend.push('bad0');
    await bff.push(2, { tag: 'vbad0' });
    const be = await backend.waitRelease(`${backend.name}-1`);
    expect(be.phase).toBe('RolledBack');
    const dependent = await bff.waitRelease(`${bff.name}-1`);
    expect(dependent.phase).toBe('Aborted');
    // Aborted as soon as the dependency goes back, while it is RollingBack or once RolledBack.
    expect(dependent.reason).toMatch(new RegExp(`^aborted: dependency ${be.id} Roll(ing|ed)Back: `));
    expect(dependent.switchedAt).toBeNull();
    expect((await bff.selector('api'))[revisionLabel]).toBe(dependent.stable!.revision);
  });

  it('a dependency without a release of the version is waited for dependsOnWaitSeconds, then taken as unchanged', async () => {
    const backend = await member('tr-still');
    const bff = await member('tr-alone', { dependsOn: [backend.name] });
    // The wait is short here; the default is 300 s.
    const stored = await new TargetStore(bff.db).get(bff.name);
    const doc = structuredClone(stored!.target) as unknown as { spec: Record<string, unknown> };
    doc.spec.dependsOnWaitSeconds = 3;
    const checked = validateReleaseTarget(doc, 0);
    if ('errors' in checked) throw new Error(JSON.stringify(checked.errors));
    await new TargetStore(bff.db).apply([checked.target], 'test');
    await bff.push(2);
    await bff.waitRelease(`${bff.name}-1`, (r) => r.phase === 'AwaitingDependencies');
    const done = await bff.waitRelease(`${bff.name}-1`);
    expect(done.phase).toBe('Succeeded');
    expect(done.switchedAt! - done.createdAt).toBeGreaterThanOrEqual(3000);
  });
});
