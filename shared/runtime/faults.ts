// Crashes staged at a step's boundaries, for the fault tests of the local stack: the process dies
// for real (SIGKILL) right after its cluster writes and before its commit, or right after its commit
// and before it hands over. Only when SWITCHYARD_FAULTS_FILE is set, which no deployment does; each
// staged crash happens once: before the process dies it marks the entry with its pid, so whoever
// staged it can wait for that process to be gone (not merely for the crash to begin).
import { readFileSync, writeFileSync } from 'node:fs';
import { config } from '../config.ts';
import type { Release } from '../engine/release.ts';

export type CrashPoint = 'after-write' | 'after-commit';

/** One staged crash: the first step of `target` at `point` (in `phase`, if given) dies there. */
export interface StagedCrash {
  target: string;
  point: CrashPoint;
  phase?: Release['phase'];
  /** Set by the process that fired it, just before it kills itself. */
  firedBy?: number;
}

/** Dies here if a crash is staged for this release, phase and point. */
export function crashPoint(point: CrashPoint, release: Pick<Release, 'target' | 'phase'>): void {
  const file = config().faultsFile;
  if (!file) return;
  let staged: StagedCrash[];
  try {
    staged = JSON.parse(readFileSync(file, 'utf8')) as StagedCrash[];
  } catch {
    return;
  }
  const i = staged.findIndex(
    (c) =>
      c.firedBy === undefined &&
      c.target === release.target &&
      c.point === point &&
      (!c.phase || c.phase === release.phase),
  );
  const fired = staged[i];
  if (!fired) return;
  fired.firedBy = process.pid;
  writeFileSync(file, JSON.stringify(staged));
  process.stderr.write(`staged crash: ${point} of ${release.target} in ${release.phase}\n`);
  process.kill(process.pid, 'SIGKILL');
}
