// The release commands of the real CLI process against the local stack: push, watch, promote (and a
// refusal), get, list and history, with the exit codes scripts rely on.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Release } from '../../shared/engine/release.ts';
import { type Fixture, releaseFixture } from '../support/release.ts';
import { stack } from '../support/stack.ts';

const repoRoot = join(import.meta.dirname, '..', '..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function switchyard(...args: string[]): Promise<Run> {
  const s = stack();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'cli', 'main.ts'), ...args],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          GOOGLE_CLOUD_PROJECT: s.projectId,
          FIRESTORE_EMULATOR_HOST: s.firestoreEmulatorHost,
          PUBSUB_EMULATOR_HOST: s.pubsubEmulatorHost,
          KUBECONFIG: s.kubeconfig,
          SWITCHYARD_USER: 'cli-test',
        },
        timeout: 120_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

describe('switchyard release commands', () => {
  it('push, watch (exit 0), promote, get, list and history', async () => {
    f = await releaseFixture('cli', { preview: true, blueGreen: { autoPromotionEnabled: false } });
    const pushed = await switchyard('push', f.image(2), '--tag', 'v2');
    expect(pushed).toMatchObject({ code: 0 });
    expect(pushed.stdout).toContain(`published INSERT of ${f.image(2)} (tag v2)`);
    await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');

    const waiting = await switchyard('get', f.name, '-o', 'json');
    expect(waiting.code).toBe(0);
    const view = JSON.parse(waiting.stdout) as {
      release: Release;
      revisions: { revision: string; desired: number; ready: number; roles: string[] }[];
    };
    expect(view.release.phase).toBe('AwaitingPromotion');
    const green = view.revisions.find((r) => r.roles.includes('preview'))!;
    expect(green).toMatchObject({ revision: view.release.green!.revision, desired: 3, ready: 3 });
    expect(view.revisions.find((r) => r.roles.includes('active'))?.revision).toBe(
      view.release.blue!.revision,
    );

    const watching = switchyard('watch', f.name);
    const promoted = await switchyard('promote', f.name, '--reason', 'looks good');
    expect(promoted).toMatchObject({ code: 0 });
    expect(promoted.stdout).toContain(`promote applied to ${f.name}-1`);
    const watched = await watching;
    expect(watched.code).toBe(0);
    expect(watched.stdout).toMatch(/AwaitingPromotion\s+-> Switching\s+promote by cli-test/);
    expect(watched.stdout).toMatch(/-> Succeeded/);

    const refused = await switchyard('promote', f.name);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toContain(`promote refused: promote: release ${f.name}-1 is Succeeded`);

    const list = JSON.parse((await switchyard('list', '--target', f.name, '-o', 'json')).stdout) as {
      id: string;
      phase: string;
    }[];
    expect(list).toEqual([expect.objectContaining({ id: `${f.name}-1`, phase: 'Succeeded' })]);

    const history = await switchyard('history', f.name);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/refused: promote: release .* is Succeeded/);

    const text = await switchyard('get', f.name);
    expect(text.stdout).toMatch(/State:\s+Succeeded/);
    expect(text.stdout).toMatch(/● api-[0-9a-f]{10}\s+3\/3 ready\s+active, preview, stable/);
  });

  it('watch exits non-zero when the release does not succeed, and get names unknown targets', async () => {
    f = await releaseFixture('cli-fail', { progressDeadlineSeconds: 5 });
    await f.push(2);
    await f.waitRelease(`${f.name}-1`);
    await f.push('bad0');
    await f.waitReleaseNumber(2);
    const watched = await switchyard('watch', f.name);
    expect(watched.code).toBe(4);
    expect(watched.stdout).toMatch(/-> RolledBack/);

    const missing = await switchyard('get', 'no-such-target');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      'no target or release named no-such-target; `switchyard targets` lists the targets',
    );
  });

  it('get shows a canary: its step, the weight asked and the weight in force, and promote --full ends it', async () => {
    f = await releaseFixture('cli-canary', {
      replicas: 4,
      canary: { steps: [{ setWeight: 50 }, { pause: {} }] },
    });
    await f.push(2);
    await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    const json = await switchyard('get', f.name, '-o', 'json');
    expect(json.code).toBe(0);
    const view = JSON.parse(json.stdout) as {
      release: Release;
      revisions: { roles: string[]; desired: number }[];
    };
    expect(view.release.canary).toMatchObject({
      step: 1,
      weight: 50,
      inForce: { weight: 50, accepted: true },
    });
    expect(view.revisions.find((r) => r.roles.includes('canary'))?.desired).toBe(2);
    const text = await switchyard('get', f.name);
    expect(text.stdout).toMatch(/Step:\s+2 \(weight asked 50%\)/);
    expect(text.stdout).toMatch(/Weight:\s+50% in force/);
    const promoted = await switchyard('promote', f.name, '--full');
    expect(promoted.code).toBe(0);
    expect((await f.waitRelease(`${f.name}-1`)).phase).toBe('Succeeded');
  });
});
