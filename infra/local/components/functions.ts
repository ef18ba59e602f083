// The functions of Switchyard, each in its own functions-framework process on loopback, fed by a
// Pub/Sub push subscription on the emulator, as Cloud Functions gen2 with a Pub/Sub trigger are.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freePort, httpReady, isAlive, startProcess, stopProcessGroup, waitFor } from '../process.ts';
import type { Part, PartStatus, ServerState, StackContext } from './part.ts';
import { applyTopology, type PubSubTopology, topologyGaps } from './pubsub-topology.ts';

const require = createRequire(import.meta.url);
// The package exports only its library entry; its command line (the `functions-framework` bin) sits beside it.
const frameworkMain = join(dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');

/** How one function is hosted locally: which module registers it and which topic triggers it. */
export interface HostedFunction {
  /** The function's registered name (functions.cloudEvent(name, ...)), also its process name. */
  name: string;
  /** Absolute path of the module that registers the function. */
  source: string;
  /** Topics whose messages trigger the function, each through its own push subscription. */
  triggers: { topic: string; subscription: string }[];
  /** Topic receiving messages after `maxDeliveryAttempts` failed deliveries. */
  deadLetterTopic: string;
  /** 5..100, as Pub/Sub allows. */
  maxDeliveryAttempts: number;
  /** Seconds Pub/Sub waits for the function before redelivering (10..600). */
  ackDeadlineSeconds?: number;
}

export interface FunctionState extends ServerState {
  name: string;
  subscriptions: string[];
  /** What was hosted, so a crashed function can be started again where it was. */
  spec: HostedFunction;
  /** The environment it was started with. */
  env: Record<string, string>;
}

export interface FunctionsState {
  functions: FunctionState[];
  /** The local scheduler tick publishing on the sweep topic, when there is a sweep function. */
  scheduler: { pid: number; topic: string; seconds: number; logFile: string } | null;
  /**
   * The environment of the functions' own (secrets folder, FunctionsConfig.env), which a restart
   * against moved parts keeps while the stack's variables (emulator hosts, KUBECONFIG) are renewed.
   */
  ownEnv?: Record<string, string>;
  /** The endpoints of the stack's parts (StackContext.endpoints) the processes were started against. */
  startedAgainst?: Record<string, string>;
}

/** What the functions part hosts, and how often the local scheduler ticks. */
export interface FunctionsConfig {
  functions: HostedFunction[];
  /** Topic of the scheduler's tick (none: no scheduler). */
  sweepTopic?: string;
  sweepSeconds?: number;
  /** Extra environment for the functions (e.g. SWITCHYARD_LEASE_SECONDS). */
  env?: Record<string, string>;
}

/**
 * The topics and push subscriptions that feed hosted functions: each trigger's subscription pushes
 * to its function's address, on the path naming the topic, as Cloud Functions' push endpoints do
 * (functions-framework reads it).
 */
export function functionsTopology(
  projectId: string,
  functions: Pick<FunctionState, 'spec' | 'host'>[],
): PubSubTopology {
  return {
    topics: functions.flatMap((f) => [f.spec.deadLetterTopic, ...f.spec.triggers.map((t) => t.topic)]),
    subscriptions: functions.flatMap((f) =>
      f.spec.triggers.map((t) => ({
        name: t.subscription,
        topic: t.topic,
        pushEndpoint: `http://${f.host}/projects/${projectId}/topics/${t.topic}`,
        ackDeadlineSeconds: f.spec.ackDeadlineSeconds ?? 60,
        deadLetterTopic: f.spec.deadLetterTopic,
        maxDeliveryAttempts: f.spec.maxDeliveryAttempts,
      })),
    ),
  };
}

function emulatorHostOf(env: Record<string, string>): string {
  const host = env.PUBSUB_EMULATOR_HOST;
  if (!host) throw new Error('hosting a function needs the Pub/Sub emulator (PUBSUB_EMULATOR_HOST)');
  return host;
}

/** Starts one function's process (no subscriptions) and waits until it answers. */
async function launchFunction(
  ctx: Pick<StackContext, 'stateDir' | 'projectId' | 'env'>,
  fn: HostedFunction,
  port?: number,
): Promise<FunctionState> {
  const listen = port ?? (await freePort());
  const logFile = join(ctx.stateDir, 'logs', `function-${fn.name}.log`);
  const pid = startProcess({
    command: process.execPath,
    args: [
      frameworkMain,
      `--target=${fn.name}`,
      `--source=${fn.source}`,
      `--port=${listen}`,
      '--signature-type=cloudevent',
    ],
    env: {
      ...ctx.env,
      GOOGLE_CLOUD_PROJECT: ctx.projectId,
      NODE_ENV: 'production',
      FUNCTION_TARGET: fn.name,
    },
    logFile,
  });
  const state: FunctionState = {
    pid,
    host: `127.0.0.1:${listen}`,
    logFile,
    name: fn.name,
    subscriptions: fn.triggers.map((t) => t.subscription),
    spec: fn,
    env: ctx.env,
  };
  try {
    // Loading the functions' module graph takes seconds, and far longer when every function of a
    // stack (or of two stacks) starts at once on two busy cores: a live process is given long to
    // answer, while one that exited fails at once.
    const outcome = await waitFor(
      async () => {
        if (!isAlive(pid)) return 'exited';
        return (await httpReady(`http://${state.host}/`, () => true)) ? 'ready' : undefined;
      },
      { timeoutMs: 90_000, what: `function ${fn.name} on ${state.host} (log: ${logFile})` },
    );
    if (outcome === 'exited') throw new Error(`function ${fn.name} exited while starting (log: ${logFile})`);
  } catch (err) {
    await stopProcessGroup(pid);
    throw err;
  }
  return state;
}

/**
 * Starts one function and makes its push subscriptions point at it. A subscription that already
 * points there is kept (with its undelivered messages); one pointing elsewhere is re-pointed.
 * `port` restarts a function where it was, so its subscriptions stay valid.
 */
export async function hostFunction(
  ctx: Pick<StackContext, 'stateDir' | 'projectId' | 'env'>,
  fn: HostedFunction,
  port?: number,
): Promise<FunctionState> {
  const emulatorHost = emulatorHostOf(ctx.env);
  const state = await launchFunction(ctx, fn, port);
  try {
    await applyTopology(emulatorHost, ctx.projectId, functionsTopology(ctx.projectId, [state]));
  } catch (err) {
    await stopProcessGroup(state.pid);
    throw err;
  }
  return state;
}

/** Stops a hosted function's process (its subscription stays and redelivers to nobody). */
export async function stopFunction(state: FunctionState): Promise<void> {
  await stopProcessGroup(state.pid);
}

/** Starts a stopped (or killed) function again on its port, behind its existing subscriptions. */
export async function restartFunction(
  ctx: Pick<StackContext, 'stateDir' | 'projectId'>,
  state: FunctionState,
): Promise<FunctionState> {
  await stopProcessGroup(state.pid);
  return hostFunction({ ...ctx, env: state.env }, state.spec, Number(state.host.split(':')[1]));
}

type SchedulerState = NonNullable<FunctionsState['scheduler']>;

function startScheduler(
  stateDir: string,
  topic: string,
  seconds: number,
  env: Record<string, string>,
): SchedulerState {
  const logFile = join(stateDir, 'logs', 'scheduler.log');
  const pid = startProcess({
    command: process.execPath,
    args: [join(import.meta.dirname, '../scheduler.ts'), topic, String(seconds)],
    env,
    logFile,
  });
  return { pid, topic, seconds, logFile };
}

/** The parts whose endpoint differs from the one the functions were started against, for humans. */
function movedEndpoints(state: FunctionsState, now: Record<string, string>): string[] {
  const before = state.startedAgainst;
  if (!before) return ['the recorded state predates endpoint tracking'];
  const names = [...new Set([...Object.keys(before), ...Object.keys(now)])].sort();
  return names
    .filter((n) => before[n] !== now[n])
    .map((n) => `${n} was ${before[n] ?? 'absent'}, is ${now[n] ?? 'absent'}`);
}

/** The functions part of the stack: hosts every function of the registry, and the scheduler tick. */
/**
 * `installationEnv` gives the installation's settings for a state folder (secrets folder, egress
 * allow-list, secret grants), as Terraform sets them on GCP; FunctionsConfig.env may override them.
 */
export function functionsPart(
  registry: () => Promise<FunctionsConfig>,
  installationEnv: (stateDir: string) => Promise<Record<string, string>> = async () => ({}),
): Part<FunctionsState> {
  return {
    name: 'functions',
    async start(ctx) {
      const cfg = await registry();
      const ownEnv = { ...(await installationEnv(ctx.stateDir)), ...cfg.env };
      const env = { ...ctx.env, ...ownEnv };
      const started: FunctionState[] = [];
      let scheduler: FunctionsState['scheduler'] = null;
      try {
        const emulatorHost = emulatorHostOf(env);
        const results = await Promise.allSettled(
          cfg.functions.map((fn) => launchFunction({ ...ctx, env }, fn)),
        );
        for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
        // One pass over the emulator for all of them, as repair does.
        await applyTopology(emulatorHost, ctx.projectId, functionsTopology(ctx.projectId, started));
        if (cfg.sweepTopic)
          scheduler = startScheduler(ctx.stateDir, cfg.sweepTopic, cfg.sweepSeconds ?? 60, env);
      } catch (err) {
        await Promise.all(started.map(stopFunction));
        throw err;
      }
      return { functions: started, scheduler, ownEnv, startedAgainst: { ...ctx.endpoints } };
    },
    async stop(state) {
      await Promise.all([...state.functions.map(stopFunction), stopProcessGroup(state.scheduler?.pid)]);
    },
    /**
     * From the recorded state: processes that died are started again where they were; when a part
     * they depend on moved (an emulator or the API server on another port, a new cluster), every
     * process is restarted with the stack's current environment; then the topics and subscriptions
     * are made whole (a restarted emulator has none).
     */
    async repair(state, ctx) {
      if (!state.ownEnv || !state.startedAgainst) {
        throw new Error('the recorded state predates endpoint tracking');
      }
      const emulatorHost = emulatorHostOf(ctx.env);
      const moved = movedEndpoints(state, ctx.endpoints).length > 0;
      const env = { ...ctx.env, ...state.ownEnv };
      const startedNow: number[] = [];
      try {
        const results = await Promise.allSettled(
          state.functions.map(async (f) => {
            if (!moved && isAlive(f.pid)) return f;
            await stopProcessGroup(f.pid);
            const next = await launchFunction({ ...ctx, env }, f.spec, Number(f.host.split(':')[1]));
            startedNow.push(next.pid);
            return next;
          }),
        );
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
        const functions = results.map((r) => (r as PromiseFulfilledResult<FunctionState>).value);
        let scheduler = state.scheduler;
        if (scheduler && (moved || !isAlive(scheduler.pid))) {
          await stopProcessGroup(scheduler.pid);
          scheduler = startScheduler(ctx.stateDir, scheduler.topic, scheduler.seconds, env);
          startedNow.push(scheduler.pid);
        }
        const changed = await applyTopology(
          emulatorHost,
          ctx.projectId,
          functionsTopology(ctx.projectId, functions),
        );
        if (changed.length > 0) {
          ctx.log(
            `functions: Pub/Sub topology restored (${changed.length} change(s): ${changed.slice(0, 3).join('; ')}${changed.length > 3 ? '; ...' : ''})`,
          );
        }
        return { ...state, functions, scheduler, startedAgainst: { ...ctx.endpoints } };
      } catch (err) {
        await Promise.all(startedNow.map((pid) => stopProcessGroup(pid)));
        throw err;
      }
    },
    async check(state, ctx): Promise<PartStatus> {
      const down = state.functions.filter((f) => !isAlive(f.pid)).map((f) => f.name);
      if (state.scheduler && !isAlive(state.scheduler.pid)) down.push('scheduler');
      if (down.length > 0) return { state: 'failed', detail: `not running: ${down.join(', ')}` };
      const moved = movedEndpoints(state, ctx.endpoints);
      if (moved.length > 0) {
        return { state: 'not-ready', detail: `started against parts that moved (${moved.join('; ')})` };
      }
      const emulatorHost = ctx.env.PUBSUB_EMULATOR_HOST;
      if (!emulatorHost)
        return { state: 'not-ready', detail: 'no Pub/Sub emulator to receive messages from' };
      try {
        const gaps = await topologyGaps(
          emulatorHost,
          ctx.projectId,
          functionsTopology(ctx.projectId, state.functions),
        );
        if (gaps.length > 0) {
          const shown =
            gaps.slice(0, 3).join('; ') + (gaps.length > 3 ? `; and ${gaps.length - 3} more` : '');
          return { state: 'not-ready', detail: `Pub/Sub topology incomplete: ${shown}` };
        }
      } catch (err) {
        return { state: 'not-ready', detail: `cannot read the Pub/Sub topology: ${(err as Error).message}` };
      }
      return {
        state: 'running',
        detail: `${state.functions.length} function(s)${state.scheduler ? `, sweep every ${state.scheduler.seconds} s` : ''}`,
      };
    },
  };
}
