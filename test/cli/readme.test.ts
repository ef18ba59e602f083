// The README, tried as a new user would: every command of its sh blocks (but the two of the quick
// start, which test/demo.test.ts and CI run) is typed, in README order, into one bash session on the
// test run's stack, and must exit 0. Where the README tells the reader to wait for something before
// the next command ("once it says AwaitingPromotion"), the test waits for it the same way.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/process.ts';
import { repoRoot } from '../../infra/local/stack.ts';
import { commandsToRun, redirected } from '../../scripts/readme-commands.ts';
import { Store } from '../../shared/adapters/store.ts';
import { testFirestore } from '../support/clients.ts';
import { exclusively } from '../support/disruption.ts';
import { stack } from '../support/stack.ts';

/** What the reader waits for before typing a command, as the README says. */
const waits: { before: RegExp; what: string; until: (store: Store) => Promise<boolean> }[] = [
  {
    before: /^switchyard promote demo-api\b/,
    what: 'demo-api to wait in AwaitingPromotion, as `switchyard get demo-api` shows',
    async until(store) {
      const w = await store.workload('demo-api');
      const release = w.inFlight ? await store.release(w.inFlight) : null;
      return release?.phase === 'AwaitingPromotion';
    },
  },
];

/** One bash session, fed one command at a time; each answer is its output and exit code. */
class Shell {
  private readonly bash: ChildProcessWithoutNullStreams;
  private output = '';
  private count = 0;

  constructor(env: NodeJS.ProcessEnv) {
    this.bash = spawn('bash', ['--noprofile', '--norc'], { cwd: repoRoot, env });
    this.bash.stdout.on('data', (d: Buffer) => {
      this.output += d.toString('utf8');
    });
    this.bash.stderr.on('data', (d: Buffer) => {
      this.output += d.toString('utf8');
    });
  }

  async run(command: string, timeoutMs: number): Promise<{ code: number; output: string }> {
    this.count += 1;
    const marker = `__readme_exit_${this.count}__`;
    const start = this.output.length;
    this.bash.stdin.write(`${command}\necho "${marker} $?"\n`);
    const pattern = new RegExp(`${marker} (\\d+)\\n`);
    const code = await waitFor(() => pattern.exec(this.output.slice(start))?.[1], {
      timeoutMs,
      intervalMs: 50,
      what: `\`${command}\` to finish`,
    });
    const output = this.output.slice(start).replace(pattern, '');
    return { code: Number(code), output };
  }

  close(): void {
    this.bash.stdin.end();
    this.bash.kill();
  }
}

describe('README walk-through', () => {
  const throwaway = mkdtempSync(join(tmpdir(), 'switchyard-readme-'));
  afterAll(() => rmSync(throwaway, { recursive: true, force: true }));

  it('runs every README command, in order, on the test stack; each exits 0', {
    timeout: 400_000,
  }, async () => {
    const commands = commandsToRun(readFileSync(join(repoRoot, 'README.md'), 'utf8'));
    expect(commands.length).toBeGreaterThan(10);
    // A new user's shell: nothing points at a stack yet but the state dir `switchyard dev` uses.
    const {
      GOOGLE_CLOUD_PROJECT,
      GCLOUD_PROJECT,
      FIRESTORE_EMULATOR_HOST,
      PUBSUB_EMULATOR_HOST,
      KUBECONFIG,
      ...env
    } = process.env;
    const shell = new Shell({
      ...env,
      SWITCHYARD_STACK_DIR: stack().stateDir,
      // Signed as a reader's own login would be on the local stack (<login>@switchyard.local, one of
      // its operators).
      SWITCHYARD_USER: 'readme@switchyard.local',
    });
    const db = testFirestore(stack().projectId);
    const store = new Store(db);
    try {
      for (const { line, command } of commands) {
        for (const wait of waits.filter((w) => w.before.test(command))) {
          await waitFor(() => wait.until(store), { timeoutMs: 90_000, intervalMs: 200, what: wait.what });
        }
        // `dev down` would stop the stack every test of the run shares: it runs on a state dir of its own.
        const typed = command in redirected ? `SWITCHYARD_STACK_DIR=${throwaway} ${command}` : command;
        // Whether all of the stack runs is asked only while no test has a function down on purpose.
        const { code, output } = /\bswitchyard dev (up|status)\b/.test(command)
          ? await exclusively('README walk-through', () => shell.run(typed, 180_000))
          : await shell.run(typed, 180_000);
        expect(code, `README.md:${line} \`${command}\` exited ${code}:\n${output}`).toBe(0);
      }
    } finally {
      shell.close();
      await db.terminate();
    }
  });
});
