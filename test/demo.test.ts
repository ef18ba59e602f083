// The demo as the README runs it (`npm run demo` is scripts/setup.sh, then this command), on the test
// run's stack: every act ends as the story says, the output tells each act's outcome, the stack it
// found running is left running, and a second run on the same stack works as well.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalStack, repoRoot } from '../infra/local/stack.ts';
import { stack } from './support/stack.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function demo(): Promise<Run> {
  // The stack's variables are left out on purpose: the demo finds the stack from --stack-dir alone.
  const { GOOGLE_CLOUD_PROJECT, FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST, KUBECONFIG, ...env } =
    process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'cli', 'main.ts'), 'demo', '--stack-dir', stack().stateDir],
      { cwd: repoRoot, env, timeout: 280_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

function expectStory(run: Run): void {
  const output = `${run.stdout}\n${run.stderr}`;
  expect(run.code, output).toBe(0);
  expect(run.stdout).toContain(`using the local stack running in`);
  expect(run.stdout).toMatch(/✔ Act 1 ended as the story says .*api-1 Succeeded: adopted, no downtime/);
  expect(run.stdout).toMatch(/pre-promotion analysis Successful: error rate 1\.0%, 1\.0%/);
  expect(run.stdout).toMatch(/switch: Service api moved from api-\w+ to api-\w+ \(3\/3 ready\)/);
  expect(run.stdout).toMatch(/scale-down: api-\w+ \(v1\) scaled to 0/);
  expect(run.stdout).toMatch(
    /✔ Act 2 ended as the story says .*api-2 Succeeded: analysis passed, switched to v2/,
  );
  expect(run.stdout).toMatch(/pre-promotion analysis Failed: error rate 20\.0%/);
  expect(run.stdout).toMatch(
    /Service api selected v2 \(api-\w+\) in every one of \d+ samples: blue never left/,
  );
  expect(run.stdout).toMatch(
    /✔ Act 3 ended as the story says .*api-3 RolledBack: analysis failed, stayed on v2/,
  );
  expect(run.stdout).toMatch(/HTTPRoute web: web 80% · web-canary 20%/);
  expect(run.stdout).toMatch(/HTTPRoute web: web 50% · web-canary 50%/);
  expect(run.stdout).toMatch(/switchyard promote web --reason "canary looks good": applied to web-1/);
  expect(run.stdout).toMatch(
    /✔ Act 4 ended as the story says .*web-1 Succeeded: 20% → 50% → promote → 100% v2/,
  );
  expect(run.stdout).toMatch(
    /switched in order, read from the Services after the last push: backend \+[\d.]+ s, bff \+[\d.]+ s, frontend \+[\d.]+ s/,
  );
  expect(run.stdout).toMatch(
    /✔ Act 5 ended as the story says .*backend-2 → bff-2 → frontend-2 switched in order/,
  );
  expect(run.stdout).toMatch(/bff-3 Aborted: .*backend-3 Roll(ing|ed)Back: pre-promotion analysis failed/);
  expect(run.stdout).toMatch(
    /✔ Act 6 ended as the story says .*backend-3 RolledBack; bff-3, frontend-3 Aborted/,
  );
  expect(run.stdout).toMatch(/✔ Act 7 ended as the story says .*api-1, api-2 Succeeded; api-3 RolledBack/);
  expect(run.stdout).toMatch(/^Summary$/m);
  expect(run.stdout).toContain('Every act ended as the story says.');
  // No progress line of the demo's own failed (the history it shows marks RolledBack with ✖).
  expect(run.stdout).not.toMatch(/^ {2}✖/m);
}

describe('npm run demo', () => {
  it('tells the story on a running stack, every act as the story says, and leaves the stack up', {
    timeout: 300_000,
  }, async () => {
    expectStory(await demo());
    const status = await new LocalStack({ stateDir: stack().stateDir, log: () => undefined }).status();
    expect(Object.values(status.parts).map((p) => p.state)).toEqual(
      Object.values(status.parts).map(() => 'running'),
    );
  });

  it('runs again on the same stack: an earlier run is cleared first', { timeout: 300_000 }, async () => {
    expectStory(await demo());
  });
});
