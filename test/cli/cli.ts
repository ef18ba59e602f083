// Running the real `switchyard` binary (bin/switchyard) against the test run's local stack.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { registryEnv } from '../../infra/local/components/registry.ts';
import { registryOf, stack } from '../support/stack.ts';

export const repoRoot = join(import.meta.dirname, '..', '..');
const bin = join(repoRoot, 'bin', 'switchyard');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment pointing the CLI at the stack (Firestore in `projectId`), as a user with `SWITCHYARD_USER`. */
export function stackEnv(projectId = stack().projectId): NodeJS.ProcessEnv {
  const s = stack();
  return {
    ...process.env,
    GOOGLE_CLOUD_PROJECT: projectId,
    FIRESTORE_EMULATOR_HOST: s.firestoreEmulatorHost,
    PUBSUB_EMULATOR_HOST: s.pubsubEmulatorHost,
    KUBECONFIG: s.kubeconfig,
    SWITCHYARD_USER: 'cli-test',
    SWITCHYARD_LOCAL_TOKEN_URL: `${s.issuerUrl}/token`,
    // `switchyard push` pushes to the stack's registry, as `switchyard dev status -o env` says.
    ...registryEnv(registryOf(s).url),
  };
}

/** An environment naming no project and no emulator, with the local dev stack looked for in `stackDir`. */
export function bareEnv(stackDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SWITCHYARD_STACK_DIR: stackDir };
  for (const name of [
    'GOOGLE_CLOUD_PROJECT',
    'GCLOUD_PROJECT',
    'FIRESTORE_EMULATOR_HOST',
    'PUBSUB_EMULATOR_HOST',
    'KUBECONFIG',
    'SWITCHYARD_REGISTRY_ENDPOINTS',
  ]) {
    delete env[name];
  }
  return env;
}

/** Runs `switchyard <args>` to the end. */
export function switchyard(args: string[], env: NodeJS.ProcessEnv = stackEnv()): Promise<Run> {
  return new Promise((resolve) => {
    execFile(bin, args, { cwd: repoRoot, env, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/**
 * Starts `switchyard <args>` and collects its output, for commands that run until something happens;
 * with `terminal`, inside a pseudo-terminal (util-linux `script`), as a user at a terminal runs it.
 */
export function start(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; terminal?: boolean } = {},
): { child: ChildProcess; output: () => string; errors: () => string; done: Promise<Run> } {
  const env = opts.env ?? stackEnv();
  const child = opts.terminal
    ? spawn('script', ['-qec', [bin, ...args].join(' '), '/dev/null'], {
        cwd: repoRoot,
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      })
    : spawn(bin, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve) =>
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? -1 : 0), stdout, stderr })),
  );
  return { child, output: () => stdout, errors: () => stderr, done };
}
