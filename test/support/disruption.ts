// Tests that kill a function of the run's shared stack, and the README walk-through that asks the
// stack whether all of it runs (`switchyard dev up`, `dev status`), must not overlap: the
// walk-through would see a function dead on purpose. They take this lock (a directory: mkdir is
// atomic across the workers' processes) for as long as a function is down, or for those commands.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, waitFor } from '../../infra/local/process.ts';
import { stack } from './stack.ts';

const lockDir = () => join(stack().stateDir, 'disruption.lock');

function tryLock(holder: string): boolean {
  try {
    mkdirSync(lockDir());
  } catch {
    // Held: by a live process, or left by one that died (then it is taken over).
    let pid = 0;
    try {
      pid = Number(readFileSync(join(lockDir(), 'pid'), 'utf8').split(' ')[0]);
    } catch {
      return false; // being created right now
    }
    if (pid && isAlive(pid)) return false;
    rmSync(lockDir(), { recursive: true, force: true });
    return false;
  }
  writeFileSync(join(lockDir(), 'pid'), `${process.pid} ${holder}`);
  return true;
}

/** Runs `work` while no other test disrupts the shared stack or checks it whole. */
export async function exclusively<T>(holder: string, work: () => Promise<T>): Promise<T> {
  await waitFor(() => tryLock(holder), {
    timeoutMs: 100_000,
    intervalMs: 200,
    what: `the shared stack's disruption lock (for ${holder})`,
  });
  try {
    return await work();
  } finally {
    rmSync(lockDir(), { recursive: true, force: true });
  }
}
