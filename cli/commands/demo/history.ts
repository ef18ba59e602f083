// Act 5 of the demo: `switchyard history api`, run as the user would run it (the real CLI, in its
// own process, pointed at the same stack), showing the three releases of `api` and every transition.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, stackEnv } from '../../../infra/local/stack.ts';
import type { DemoContext } from './context.ts';
import type { Act } from './report.ts';

/** Runs the CLI with `args` against the demo's stack; resolves with its exit code and output. */
export function switchyard(
  ctx: DemoContext,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'cli', 'main.ts'), ...args],
      { env: { ...process.env, ...stackEnv(ctx.status) }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** The phase each release of `api` must have ended in, by the story of acts 1–3. */
const expected: [string, string][] = [
  ['api-1', 'Succeeded'],
  ['api-2', 'Succeeded'],
  ['api-3', 'RolledBack'],
];

export const history: Act<DemoContext> = {
  title: 'switchyard history api',
  async run(ctx, p) {
    const run = await switchyard(ctx, ['history', 'api']);
    for (const line of run.stdout.trimEnd().split('\n')) p.show(line);
    if (run.code !== 0) throw new Error(`switchyard history api exited ${run.code}: ${run.stderr.trim()}`);
    for (const [id, phase] of expected) {
      // The first line of each release names it and its phase.
      if (!new RegExp(`^${id}\\b.*\\b${phase}\\b`, 'm').test(run.stdout))
        throw new Error(`switchyard history api does not show ${id} ${phase}`);
    }
    p.ok('switchyard history api: exit 0, api-1 Succeeded, api-2 Succeeded, api-3 RolledBack');
    return 'api-1, api-2 Succeeded; api-3 RolledBack';
  },
};
