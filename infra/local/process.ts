// Starting and stopping the local stack's server processes.
// Every server runs in its own process group, detached from the caller, with its output in a log
// file, so `dev down` (or a test run's teardown) can stop the server and all of its children.
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
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

/**
 * Linux: a process's state letter (R, S, Z, ...), process group and number of threads from
 * /proc/<pid>/stat; undefined when there is no such process. The command name in parentheses may
 * hold spaces.
 */
function procStat(pid: number): { state: string; pgrp: number; threads: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] ? { state: fields[0], pgrp: Number(fields[2]), threads: Number(fields[17]) } : undefined;
  } catch {
    return undefined;
  }
}

const hasProc = existsSync('/proc/self/stat');

/**
 * A zombie (Z) or dying (X) process has exited, only its parent's wait is missing; but a zombie
 * leader whose other threads are still exiting (a killed JVM or Go server) still holds its sockets.
 */
const exited = (stat: { state: string; threads: number }) =>
  (stat.state === 'Z' || stat.state === 'X') && !(stat.threads > 1);

/**
 * True while a process with this pid runs. Zombies count as gone: a server whose parent (a `dev up`
 * that returned) is gone is reparented to PID 1, which on these machines never reaps it, so it stays
 * a zombie that signal 0 still reaches.
 */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!hasProc) return true;
  const stat = procStat(pid);
  return stat !== undefined && !exited(stat);
}

/** True while a process of the group runs (zombies aside, as in isAlive). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!hasProc) return true;
  // The leader is the usual survivor; scan the rest only when it is gone.
  const leader = procStat(pgid);
  if (leader && leader.pgrp === pgid && !exited(leader)) return true;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat && stat.pgrp === pgid && !exited(stat)) return true;
  }
  return false;
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

/**
 * True once nothing listens on 127.0.0.1:port, false when it is still taken after `timeoutMs` (a
 * server that was just killed can hold its port for a moment while its threads exit).
 */
export async function portFreed(port: number, timeoutMs: number): Promise<boolean> {
  try {
    return await waitFor(async () => (await freePort(port)) === port, {
      timeoutMs,
      intervalMs: 100,
      what: `port ${port} to be free`,
    });
  } catch {
    return false;
  }
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
