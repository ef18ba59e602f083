// The functions host dies at a step boundary — after its cluster writes and before its commit, or
// after its commit and before it hands over — and the release still ends as it should, with the
// invariant checker sampling throughout. The crash is real: the process is killed (SIGKILL) at the
// point, staged through the stack's faults file (shared/runtime/faults.ts), and the stack brings
// it back as Cloud Run would replace an instance.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, waitFor } from '../../infra/local/process.ts';
import { LocalStack } from '../../infra/local/stack.ts';
import type { Phase } from '../../shared/engine/phase.ts';
import type { CrashPoint, StagedCrash } from '../../shared/runtime/faults.ts';
import { exclusively } from '../support/disruption.ts';
import { releaseHarness } from '../support/harness.ts';
import type { Fixture } from '../support/release.ts';
import { stack } from '../support/stack.ts';

const { start } = releaseHarness();
const revisionLabel = 'switchyard.dev/revision';
const faultsFile = () => join(stack().stateDir, 'faults.json');

function staged(): StagedCrash[] {
  return existsSync(faultsFile()) ? (JSON.parse(readFileSync(faultsFile(), 'utf8')) as StagedCrash[]) : [];
}

/** Stages a crash, runs `trigger`, waits for the crash to happen, and brings the dead host back. */
async function crashDuring(f: Fixture, point: CrashPoint, phase: Phase, trigger: () => Promise<unknown>) {
  // The function is down from the crash until it is revived: no walk-through checks the stack meanwhile.
  await exclusively(`crash ${point} in ${phase}`, async () => {
    writeFileSync(faultsFile(), JSON.stringify([...staged(), { target: f.name, point, phase }]));
    await trigger();
    const fired = await waitFor(() => staged().find((c) => c.target === f.name)?.firedBy, {
      timeoutMs: 60_000,
      what: `the staged crash ${point} in ${phase} to happen`,
    });
    // The entry is marked just before the kill: revive only once the process is really gone, or the
    // stack would find it still running and leave it dead.
    await waitFor(() => !isAlive(fired), { timeoutMs: 10_000, what: `process ${fired} to die` });
    writeFileSync(faultsFile(), JSON.stringify(staged().filter((c) => c.target !== f.name)));
    // Bring the stack's dead parts back where they were.
    await waitFor(
      async () => {
        await new LocalStack({ stateDir: stack().stateDir, log: () => undefined }).up();
        return true;
      },
      { timeoutMs: 60_000, what: 'the stack to revive the crashed function' },
    );
  });
}

describe('the functions host killed at step boundaries', () => {
  for (const point of ['after-write', 'after-commit'] as const) {
    it(`blue-green, ${point} of the switch: the release still succeeds and the record names what serves`, async () => {
      const f = await start(`crash-bg-${point === 'after-write' ? 'w' : 'c'}`, {
        blueGreen: { autoPromotionEnabled: false },
      });
      await f.push(2);
      await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
      await crashDuring(f, point, 'Switching', () => f.control('promote'));
      const done = await f.waitRelease(`${f.name}-1`, undefined, 120_000);
      expect(done.phase).toBe('Succeeded');
      const serving = (await f.selector('api'))[revisionLabel];
      expect(serving).toBe(done.candidate!.revision);
      expect((await f.workload()).stable?.revision).toBe(serving);
      expect((await f.deployment(done.candidate!.deployment))?.spec?.replicas).toBe(3);
    });
  }

  it("blue-green, after-write of an abort's rollback: blue serves again and the record says so", async () => {
    const f = await start('crash-abort', {
      blueGreen: { autoPromotionEnabled: false, scaleDownDelaySeconds: 60 },
    });
    await f.push(2);
    const waiting = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    await f.control('promote');
    await f.waitRelease(waiting.id, (r) => r.phase === 'ScalingDown');
    // Switched, blue still warm: the abort puts traffic back on blue; its host dies mid-way.
    await crashDuring(f, 'after-write', 'RollingBack', () => f.control('abort'));
    const done = await f.waitRelease(waiting.id, undefined, 120_000);
    expect(done.phase).toBe('Aborted');
    expect((await f.selector('api'))[revisionLabel]).toBe(waiting.stable!.revision);
    expect((await f.workload()).stable?.revision).toBe(waiting.stable!.revision);
    expect((await f.deployment(waiting.stable!.deployment))?.spec?.replicas).toBe(3);
  });

  for (const point of ['after-write', 'after-commit'] as const) {
    it(`canary (replica ratio), ${point} of a weight step: the canary goes on and is promoted`, async () => {
      const f = await start(`crash-can-${point}`, {
        replicas: 4,
        canary: { steps: [{ setWeight: 50 }, { pause: {} }] },
      });
      await f.push(2);
      await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
      await f.control('promote', { full: true });
      expect((await f.waitRelease(`${f.name}-1`)).phase).toBe('Succeeded');
      await crashDuring(f, point, 'Progressing', () => f.push(3));
      const paused = await f.waitRelease(`${f.name}-2`, (r) => r.phase === 'AwaitingPromotion', 120_000);
      expect(paused.canary?.weight).toBe(50);
      await f.control('promote');
      const done = await f.waitRelease(`${f.name}-2`, undefined, 120_000);
      expect(done.phase).toBe('Succeeded');
      expect((await f.selector('api'))[revisionLabel]).toBe(done.candidate!.revision);
      expect((await f.workload()).stable?.revision).toBe(done.candidate!.revision);
    });
  }
});
