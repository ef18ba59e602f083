// Release trains through the real CLI (bin/switchyard) on the local stack: `train get` draws a
// train in dependency order with what each member waits for, `promote --train` promotes the members
// waiting for it, `train watch` follows the train to its end with the exit code of its outcome,
// `abort --train` aborts every release of another train, and `train list` lists both.
import { afterEach, describe, expect, it } from 'vitest';
import type { TrainView } from '../../cli/views/train-view.ts';
import { type Fixture, releaseFixture } from '../support/release.ts';
import { uniqueId } from '../support/stack.ts';
import { switchyard } from './cli.ts';

let fixtures: Fixture[] = [];
afterEach(async () => {
  await Promise.all(fixtures.map((f) => f.close()));
  fixtures = [];
});

const manual = { blueGreen: { autoPromotionEnabled: false } };

async function train(version: string): Promise<TrainView> {
  const run = await switchyard(['train', 'get', version, '-o', 'json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as TrainView;
}

describe('switchyard train', () => {
  it('get draws the order and the waits, promote --train promotes the members waiting for it, watch ends with the outcome, abort --train aborts a train', async () => {
    const backend = await releaseFixture('ct-be', manual);
    const bff = await releaseFixture('ct-bff', { ...manual, dependsOn: [backend.name] });
    fixtures = [backend, bff];
    const v = uniqueId('v').slice(0, 20);
    await bff.push(2, { tag: v });
    await backend.push(2, { tag: v });
    await backend.waitRelease(`${backend.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    // Woken when the backend's release was created, it names the release it waits for.
    await bff.waitRelease(
      `${bff.name}-1`,
      (r) => r.phase === 'AwaitingDependencies' && r.reason?.includes(`${backend.name}-1`) === true,
    );

    const drawn = await switchyard(['train', 'get', v]);
    expect(drawn.code, drawn.stderr).toBe(0);
    const lines = drawn.stdout.trim().split('\n');
    expect(lines[0]).toBe(`release train ${v}: 2 target(s), 0 switched`);
    expect(lines[2]).toMatch(new RegExp(`^1 +${backend.name} +${backend.name}-1 +AwaitingPromotion +- +- `));
    expect(lines[3]).toMatch(
      new RegExp(
        `^2 +${bff.name} +${bff.name}-1 +AwaitingDependencies +- +${backend.name} +waiting for ${backend.name}-1 \\(release train ${v}\\)`,
      ),
    );

    // Only the backend waits for a promotion: the bff is not sent one.
    const first = await switchyard(['promote', '--train', v, '-o', 'json']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).results).toEqual([
      { target: backend.name, release: `${backend.name}-1`, outcome: 'applied', reason: null },
    ]);
    await bff.waitRelease(`${bff.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    const second = await switchyard(['promote', '--train', v]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(new RegExp(`^${bff.name} +${bff.name}-1 +applied$`, 'm'));
    const watched = await switchyard(['train', 'watch', v, '--timeout', '120']);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toContain(`release train ${v}: 2 target(s), 2 switched, ended`);
    const done = await train(v);
    expect(done.members.map((m) => [m.target, m.order, m.release?.phase])).toEqual([
      [backend.name, 1, 'Succeeded'],
      [bff.name, 2, 'Succeeded'],
    ]);
    expect(done.members[1]!.release!.switchedAt!).toBeGreaterThan(done.members[0]!.release!.switchedAt!);

    // A second train, aborted as a whole before anything switched.
    const v2 = uniqueId('w').slice(0, 20);
    await backend.push(3, { tag: v2 });
    await bff.push(3, { tag: v2 });
    await backend.waitRelease(`${backend.name}-2`, (r) => r.phase === 'AwaitingPromotion');
    await bff.waitRelease(`${bff.name}-2`, (r) => r.phase === 'AwaitingDependencies');
    const abort = await switchyard(['abort', '--train', v2, '--reason', 'bad build', '-o', 'json']);
    expect(abort.code, abort.stderr).toBe(0);
    // Dependents first.
    expect(JSON.parse(abort.stdout).results.map((r: { target: string }) => r.target)).toEqual([
      bff.name,
      backend.name,
    ]);
    const ended = await switchyard(['train', 'watch', v2, '--timeout', '120']);
    expect(ended.code).toBe(4);
    const aborted = await train(v2);
    expect(aborted.members.map((m) => m.release?.phase)).toEqual(['Aborted', 'Aborted']);
    expect(aborted.members.every((m) => m.release?.switchedAt === null)).toBe(true);

    const list = await switchyard(['train', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${v2} +2 +0 +ended$`, 'm'));
    expect(list.stdout).toMatch(new RegExp(`^${v} +2 +2 +ended$`, 'm'));

    const none = await switchyard(['promote', '--train', v2]);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain(`no release of train ${v2} can be promoted`);
    const unknown = await switchyard(['train', 'get', 'no-such-version']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('`switchyard train list` lists the versions');
  }, 300_000);
});
