// Google's Firestore and Pub/Sub emulators, from the Cloud SDK installed on the machine.
// The launchers are started directly (not through `gcloud emulators`, which leaves the Java child
// behind when it is killed), each in its own process group.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, httpReady, isAlive, startProcess, stopProcessGroup, waitFor } from '../process.ts';
import type { Part, PartStatus, ServerState } from './part.ts';

const run = promisify(execFile);
let sdkRootCache: string | undefined;

/** The Cloud SDK root, read from gcloud itself rather than hard-coded. */
export async function cloudSdkRoot(): Promise<string> {
  if (sdkRootCache) return sdkRootCache;
  const fromEnv = process.env.CLOUDSDK_ROOT_DIR;
  if (fromEnv) {
    sdkRootCache = fromEnv;
    return fromEnv;
  }
  try {
    const { stdout } = await run('gcloud', ['info', '--format=value(installation.sdk_root)']);
    sdkRootCache = stdout.trim();
    return sdkRootCache;
  } catch {
    throw new Error(
      'gcloud is missing: install the Debian package google-cloud-cli with google-cloud-cli-firestore-emulator ' +
        'and google-cloud-cli-pubsub-emulator (they need Java 17)',
    );
  }
}

interface EmulatorSpec {
  name: 'firestore' | 'pubsub';
  launcher: string;
  package: string;
}

const specs: Record<EmulatorSpec['name'], EmulatorSpec> = {
  firestore: {
    name: 'firestore',
    launcher: 'platform/cloud-firestore-emulator/cloud_firestore_emulator',
    package: 'google-cloud-cli-firestore-emulator',
  },
  pubsub: {
    name: 'pubsub',
    launcher: 'platform/pubsub-emulator/bin/cloud-pubsub-emulator',
    package: 'google-cloud-cli-pubsub-emulator',
  },
};

/** The last lines of a log file, for an error that points at it. */
function tail(logFile: string, lines = 5): string {
  const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
  return text.trim().split('\n').slice(-lines).join(' | ') || '(no log)';
}

function emulatorPart(spec: EmulatorSpec): Part<ServerState> {
  return {
    name: spec.name,
    async start(ctx) {
      const launcher = join(await cloudSdkRoot(), spec.launcher);
      if (!existsSync(launcher)) {
        throw new Error(
          `${spec.name} emulator not found at ${launcher}: install the Debian package ${spec.package}`,
        );
      }
      const logFile = join(ctx.stateDir, 'logs', `${spec.name}.log`);
      // An emulator that exits while it starts (its port taken between freePort and its bind, say)
      // is started once more on another port, instead of being waited for until the deadline.
      let lastExit = '';
      for (let attempt = 1; attempt <= 2; attempt++) {
        const port = await freePort(attempt === 1 ? ctx.preferredPorts[spec.name] : undefined);
        const args =
          spec.name === 'firestore'
            ? ['start', '--host=127.0.0.1', `--port=${port}`]
            : ['--host=127.0.0.1', `--port=${port}`];
        const pid = startProcess({ command: launcher, args, logFile });
        const state: ServerState = { pid, host: `127.0.0.1:${port}`, logFile };
        try {
          const outcome = await waitFor(
            async () =>
              !isAlive(pid)
                ? 'exited'
                : (await httpReady(`http://${state.host}/`, (s) => s === 200)) && 'ready',
            {
              // A JVM on a busy two-core machine (a test run starting stacks in parallel) is slow to come up.
              timeoutMs: 120_000,
              what: `the ${spec.name} emulator on ${state.host} (log: ${logFile})`,
            },
          );
          if (outcome === 'ready') return state;
          lastExit = `the ${spec.name} emulator exited while starting on ${state.host}: ${tail(logFile)}`;
          ctx.log(`${spec.name}: ${lastExit}${attempt < 2 ? '; starting it again on another port' : ''}`);
        } catch (err) {
          await stopProcessGroup(pid);
          throw err;
        }
      }
      throw new Error(lastExit);
    },
    async stop(state) {
      await stopProcessGroup(state.pid);
    },
    endpoint: (state) => state.host,
    async check(state): Promise<PartStatus> {
      if (!isAlive(state.pid)) return { state: 'stopped', detail: 'process is gone' };
      return (await httpReady(`http://${state.host}/`, (s) => s === 200))
        ? { state: 'running' }
        : { state: 'failed', detail: `no answer on http://${state.host}/` };
    },
  };
}

export const firestorePart = emulatorPart(specs.firestore);
export const pubsubPart = emulatorPart(specs.pubsub);
