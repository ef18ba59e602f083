// A stack of its own for a test file whose faults would break every other file running beside it
// (the Pub/Sub emulator or the API server restarted): its own Pub/Sub emulator, Kubernetes cluster
// and the real Switchyard functions, in a temporary folder, with the timers of the run's shared
// stack (test/setup/global.ts). To keep its start cheap it has no Prometheus and no Firestore of
// its own: it keeps its documents in the shared Firestore emulator under a project id of its own,
// which is as apart as two projects are. Faults are dealt with the same way the stack repairs them:
// `repair()` is `switchyard dev up` on the stack's folder.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FunctionsState } from '../../infra/local/components/functions.ts';
import { issuerEnv } from '../../infra/local/components/issuer.ts';
import type { KubeState } from '../../infra/local/components/kubernetes.ts';
import type { ServerState } from '../../infra/local/components/part.ts';
import { isAlive, waitFor } from '../../infra/local/process.ts';
import { LocalStack, repoRoot, type StackStatus, switchyardStack } from '../../infra/local/stack.ts';
import type { FunctionName } from '../../shared/topology.ts';
import { testOperators } from './identity.ts';
import { type StackInfo, stack as sharedStack, uniqueId } from './stack.ts';

/**
 * The functions' timers on test stacks: a sweep every 5 s and short claims, so recoveries take
 * seconds; a notifier that hangs is given up on after 3 attempts of 1 s.
 */
export const testTimers = {
  sweepSeconds: 5,
  env: {
    SWITCHYARD_LEASE_SECONDS: '10',
    SWITCHYARD_SWEEP_LOOKAHEAD_SECONDS: '10',
    SWITCHYARD_NOTIFY_TIMEOUT_MS: '1000',
  },
} as const;

interface StackFile {
  parts: { pubsub?: ServerState; kubernetes?: KubeState; functions?: FunctionsState };
}

export interface PrivateStack {
  /** Where the fixtures reach it (StackInfo, as the shared stack's); throws before `start`. */
  info(): StackInfo;
  /** Its folder (stack.json, logs). */
  readonly dir: string;
  start(): Promise<void>;
  /** `switchyard dev up` on its folder: brings back what died, as a developer would. */
  repair(): Promise<StackStatus>;
  /**
   * Stops every process it started and removes its folder, keeping the logs of its servers and
   * functions in .switchyard/test-logs-<prefix> for whoever has to explain a failure.
   */
  stop(): Promise<void>;
  /** Kills the Pub/Sub emulator (SIGKILL to its process group) and waits until it is gone. */
  killPubSub(): Promise<void>;
  /** Kills the kube-apiserver (SIGKILL) and waits until it is gone; etcd and the rest keep running. */
  killApiServer(): Promise<void>;
  /** Kills one function's process and waits until it is gone (its subscription stays). */
  killFunction(name: FunctionName): Promise<void>;
  /** The lines one function has logged so far. */
  functionLog(name: FunctionName): string[];
  /** The recorded state of its parts. */
  recorded(): StackFile['parts'];
}

/** A private stack; call `start` in beforeAll and `stop` in afterAll. */
export function privateStack(prefix: string): PrivateStack {
  const dir = mkdtempSync(join(tmpdir(), `switchyard-${prefix}-`));
  const projectId = uniqueId(prefix).slice(0, 30);
  let shared: StackInfo | undefined;
  let status: StackStatus | undefined;
  const local = new LocalStack({
    stateDir: dir,
    projectId,
    only: ['pubsub', 'kubernetes', 'registry', 'functions'],
    functions: async () =>
      switchyardStack({
        sweepSeconds: testTimers.sweepSeconds,
        // Firestore and the ID-token issuer are the shared stack's.
        env: {
          ...testTimers.env,
          FIRESTORE_EMULATOR_HOST: shared!.firestoreEmulatorHost,
          ...issuerEnv(new URL(shared!.issuerUrl).host),
          SWITCHYARD_OPERATORS: testOperators,
        },
      }),
    log: (m) => process.stderr.write(`[${prefix} stack] ${m}\n`),
  });
  const recorded = () => (JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as StackFile).parts;
  const gone = (pid: number, what: string) =>
    waitFor(() => !isAlive(pid), { timeoutMs: 10_000, what: `${what} (pid ${pid}) to die` });
  return {
    dir,
    info() {
      if (!status?.pubsubEmulatorHost || !status.kubeconfig || !shared) {
        throw new Error(`the private stack in ${dir} is not up`);
      }
      return {
        projectId,
        stateDir: dir,
        firestoreEmulatorHost: shared.firestoreEmulatorHost,
        pubsubEmulatorHost: status.pubsubEmulatorHost,
        kubeconfig: status.kubeconfig,
        prometheusUrl: shared.prometheusUrl,
        issuerUrl: shared.issuerUrl,
      };
    },
    async start() {
      shared = sharedStack();
      status = await local.up();
    },
    async repair() {
      status = await local.up();
      return status;
    },
    async stop() {
      await local.down();
      const kept = join(repoRoot, '.switchyard', `test-logs-${prefix}`);
      rmSync(kept, { recursive: true, force: true });
      if (existsSync(join(dir, 'logs'))) cpSync(join(dir, 'logs'), kept, { recursive: true });
      rmSync(dir, { recursive: true, force: true });
    },
    async killPubSub() {
      const { pid } = recorded().pubsub!;
      process.kill(-pid, 'SIGKILL');
      await gone(pid, 'the Pub/Sub emulator');
    },
    async killApiServer() {
      const k = recorded().kubernetes!;
      const file = join(k.workdir, 'clusters', k.clusterName, 'pids', 'kube-apiserver.pid');
      const pid = Number(readFileSync(file, 'utf8'));
      process.kill(pid, 'SIGKILL');
      await gone(pid, 'the API server');
    },
    async killFunction(name) {
      const fn = recorded().functions!.functions.find((f) => f.name === name)!;
      process.kill(-fn.pid, 'SIGKILL');
      await gone(fn.pid, `function ${name}`);
    },
    functionLog(name) {
      const fn = recorded().functions!.functions.find((f) => f.name === name)!;
      try {
        return readFileSync(fn.logFile, 'utf8').split('\n');
      } catch {
        return [];
      }
    },
    recorded,
  };
}
