// The functions of Switchyard, each in its own functions-framework process on loopback, fed by a
// Pub/Sub push subscription on the emulator, as Cloud Functions gen2 with a Pub/Sub trigger are.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { freePort, httpReady, isAlive, startProcess, stopProcessGroup, waitFor } from '../process.ts';
import type { Part, PartStatus, ServerState, StackContext } from './part.ts';

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

/** A Pub/Sub client for the emulator of a stack. */
export function emulatorPubSub(projectId: string, emulatorHost: string): PubSub {
  return new PubSub({ projectId, apiEndpoint: emulatorHost });
}

async function ensureTopic(pubsub: PubSub, name: string): Promise<void> {
  const [exists] = await pubsub.topic(name).exists();
  if (!exists) {
    try {
      await pubsub.createTopic(name);
    } catch (err) {
      if ((err as { code?: number }).code !== 6) throw err; // ALREADY_EXISTS: created concurrently
    }
  }
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
  const emulatorHost = ctx.env.PUBSUB_EMULATOR_HOST;
  if (!emulatorHost) throw new Error('hosting a function needs the Pub/Sub emulator (PUBSUB_EMULATOR_HOST)');
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
    await waitFor(() => isAlive(pid) && httpReady(`http://${state.host}/`, () => true), {
      timeoutMs: 30_000,
      what: `function ${fn.name} on ${state.host} (log: ${logFile})`,
    });
    const pubsub = emulatorPubSub(ctx.projectId, emulatorHost);
    try {
      await ensureTopic(pubsub, fn.deadLetterTopic);
      for (const trigger of fn.triggers) {
        await ensureTopic(pubsub, trigger.topic);
        // The path names the topic, as Cloud Functions' push endpoints do; functions-framework reads it.
        const pushEndpoint = `http://${state.host}/projects/${ctx.projectId}/topics/${trigger.topic}`;
        const sub = pubsub.subscription(trigger.subscription);
        const [exists] = await sub.exists();
        if (exists) {
          const [meta] = await sub.getMetadata();
          if (meta.pushConfig?.pushEndpoint === pushEndpoint) continue;
          await sub.modifyPushConfig({ pushEndpoint });
          continue;
        }
        await pubsub.createSubscription(trigger.topic, trigger.subscription, {
          pushConfig: { pushEndpoint },
          ackDeadlineSeconds: fn.ackDeadlineSeconds ?? 60,
          deadLetterPolicy: {
            deadLetterTopic: `projects/${ctx.projectId}/topics/${fn.deadLetterTopic}`,
            maxDeliveryAttempts: fn.maxDeliveryAttempts,
          },
          retryPolicy: { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 10 } },
        });
      }
    } finally {
      await pubsub.close();
    }
  } catch (err) {
    await stopProcessGroup(pid);
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

/** The functions part of the stack: hosts every function of the registry, and the scheduler tick. */
export function functionsPart(registry: () => Promise<FunctionsConfig>): Part<FunctionsState> {
  return {
    name: 'functions',
    async start(ctx) {
      const cfg = await registry();
      // Secrets the notify function reads, as Terraform mounts them on GCP: <dir>/<id>/<id>.
      const env = { ...ctx.env, SWITCHYARD_SECRETS_DIR: join(ctx.stateDir, 'secrets'), ...cfg.env };
      const started: FunctionState[] = [];
      let scheduler: FunctionsState['scheduler'] = null;
      try {
        const results = await Promise.allSettled(
          cfg.functions.map((fn) => hostFunction({ ...ctx, env }, fn)),
        );
        for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
        if (cfg.sweepTopic) {
          const seconds = cfg.sweepSeconds ?? 60;
          const logFile = join(ctx.stateDir, 'logs', 'scheduler.log');
          const pid = startProcess({
            command: process.execPath,
            args: [join(import.meta.dirname, '../scheduler.ts'), cfg.sweepTopic, String(seconds)],
            env,
            logFile,
          });
          scheduler = { pid, topic: cfg.sweepTopic, seconds, logFile };
        }
      } catch (err) {
        await Promise.all(started.map(stopFunction));
        throw err;
      }
      return { functions: started, scheduler };
    },
    async stop(state) {
      await Promise.all([...state.functions.map(stopFunction), stopProcessGroup(state.scheduler?.pid)]);
    },
    async repair(state, ctx) {
      if (state.scheduler && !isAlive(state.scheduler.pid)) throw new Error('the scheduler tick died');
      const functions = await Promise.all(
        state.functions.map((f) => (isAlive(f.pid) ? f : restartFunction(ctx, f))),
      );
      return { ...state, functions };
    },
    async check(state): Promise<PartStatus> {
      const down = state.functions.filter((f) => !isAlive(f.pid)).map((f) => f.name);
      if (state.scheduler && !isAlive(state.scheduler.pid)) down.push('scheduler');
      if (down.length > 0) return { state: 'failed', detail: `not running: ${down.join(', ')}` };
      return {
        state: 'running',
        detail: `${state.functions.length} function(s)${state.scheduler ? `, sweep every ${state.scheduler.seconds} s` : ''}`,
      };
    },
  };
}
