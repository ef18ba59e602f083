// `switchyard dev up|down|status`: up twice is harmless, up after a crash recovers the dead part in
// place, down leaves no process; status -o json says how to reach every part.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../infra/local/process.ts';
import { LocalStack, repoRoot } from '../../infra/local/stack.ts';
import { functionNames } from '../../shared/topology.ts';
import { stack } from '../support/stack.ts';

interface PidState {
  parts: { prometheus: { pid: number; host: string }; pubsub: { pid: number; host: string } };
}

describe('the local stack itself', () => {
  // A small stack of its own (Prometheus and the Pub/Sub emulator), so crashing it disturbs no other test.
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-dev-'));
  const mini = new LocalStack({
    stateDir: dir,
    projectId: 'dev-test',
    only: ['prometheus', 'pubsub'],
    log: () => undefined,
  });
  const pids = () => JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as PidState;
  afterAll(async () => {
    await mini.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it('up twice is harmless, up after a crash restarts only the dead part where it was, down leaves nothing', async () => {
    const first = await mini.up();
    expect(first.parts).toMatchObject({ prometheus: { state: 'running' }, pubsub: { state: 'running' } });
    const before = pids();

    const again = await mini.up();
    expect(again.prometheusUrl).toBe(first.prometheusUrl);
    expect(pids()).toEqual(before);

    process.kill(-before.parts.prometheus.pid, 'SIGKILL');
    expect((await mini.status()).parts.prometheus.state).not.toBe('running');
    const recovered = await mini.up();
    expect(recovered.parts.prometheus.state).toBe('running');
    expect(recovered.prometheusUrl).toBe(first.prometheusUrl);
    const after = pids();
    expect(after.parts.prometheus.pid).not.toBe(before.parts.prometheus.pid);
    expect(after.parts.pubsub).toEqual(before.parts.pubsub);

    await mini.down();
    expect(isAlive(after.parts.prometheus.pid)).toBe(false);
    expect(isAlive(after.parts.pubsub.pid)).toBe(false);
    expect(existsSync(join(dir, 'stack.json'))).toBe(false);
    expect((await mini.status()).parts.prometheus.state).toBe('stopped');
  });

  it('dev status -o json reports how to reach every part of the running stack', async () => {
    const run = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(repoRoot, 'cli', 'main.ts'), 'dev', 'status', '-o', 'json', '--state-dir', stack().stateDir],
        { cwd: repoRoot, timeout: 30_000 },
        (err, stdout) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout }),
      );
    });
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout);
    expect(status).toMatchObject({
      projectId: stack().projectId,
      firestoreEmulatorHost: stack().firestoreEmulatorHost,
      pubsubEmulatorHost: stack().pubsubEmulatorHost,
      kubeconfig: stack().kubeconfig,
      prometheusUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      parts: {
        firestore: { state: 'running' },
        pubsub: { state: 'running' },
        kubernetes: { state: 'running' },
        prometheus: { state: 'running' },
        functions: { state: 'running' },
      },
    });
    // Every function of the registry runs, each in its own process.
    expect(status.functions.map((f: { name: string }) => f.name).sort()).toEqual([...functionNames].sort());
  });
});
