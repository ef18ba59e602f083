// Starting and stopping the local stack's server processes.
// Every server runs in its own process group, detached from the caller, with its output in a log
// file, so `dev down` (or a test run's teardown) can stop the server and all of its children.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface StartOptions {
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Starts a detached server in a new process group; returns its pid (also the group id). */
export function startProcess(opts: StartOptions): number {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const out = openSync(opts.logFile, 'a');
  try {
    const child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      detached: true,
      stdio: ['ignore', out, out],
    });
    if (child.pid === undefined) throw new Error(`could not start ${opts.command}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(out);
  }
}

/** True while a process with this pid exists (zombies of other parents count as gone). */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Stops a whole process group: SIGTERM, then SIGKILL after `graceMs`.
 * Idempotent: a group that is already gone is fine.
 */
export async function stopProcessGroup(pgid: number | undefined, graceMs = 5000): Promise<void> {
  if (!pgid || !groupAlive(pgid)) return;
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid)) return;
    await delay(100);
  }
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    return;
  }
  await waitFor(() => !groupAlive(pgid), { timeoutMs: 5000, what: `process group ${pgid} to exit` });
}

/**
 * A free TCP port on 127.0.0.1: `preferred` when it is free, else one chosen by the kernel.
 */
export async function freePort(preferred?: number): Promise<number> {
  if (preferred) {
    try {
      return await listenOnce(preferred);
    } catch {
      // taken: fall back to any free port
    }
  }
  return listenOnce(0);
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('no port assigned'));
      });
    });
  });
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What is awaited, for the error message. */
  what: string;
}

/** Polls `check` until it returns a truthy value or the deadline passes (then throws). */
export async function waitFor<T>(check: () => T | Promise<T>, opts: WaitOptions): Promise<NonNullable<T>> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${cause}`);
    }
    await delay(opts.intervalMs ?? 200);
  }
}

/** Resolves true once an HTTP GET on `url` answers with a status accepted by `ok`. */
export async function httpReady(
  url: string,
  ok: (status: number) => boolean = (s) => s < 500,
): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return ok(res.status);
  } catch {
    return false;
  }
}

/**
 * Runs `fn` while holding an exclusive lock file (created with O_EXCL, holding the holder's pid). A
 * lock whose holder is gone (killed), or older than `staleMs`, is broken.
 */
export async function withLock<T>(lockFile: string, fn: () => Promise<T>, staleMs = 30 * 60_000): Promise<T> {
  await waitFor(
    () => {
      try {
        writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        try {
          const holder = Number(readFileSync(lockFile, 'utf8')) || undefined;
          const old = Date.now() - statSync(lockFile).mtimeMs;
          // A holder that has not written its pid yet is given a moment.
          if ((holder !== undefined && !isAlive(holder) && old > 1000) || old > staleMs) {
            rmSync(lockFile, { force: true });
          }
        } catch {
          // removed by its holder meanwhile
        }
        return false;
      }
    },
    { timeoutMs: staleMs + 10_000, intervalMs: 100, what: `the lock ${lockFile}` },
  );
  try {
    return await fn();
  } finally {
    rmSync(lockFile, { force: true });
  }
}
