// The functions of Switchyard, each in its own functions-framework process on loopback, fed by a
// Pub/Sub push subscription on the emulator, as Cloud Functions gen2 with a Pub/Sub trigger are.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { freePort, httpReady, isAlive, startProcess, stopProcessGroup, waitFor } from '../process.ts';
import type { Part, PartStatus, ServerState, StackContext } from './part.ts';

const require = createRequire(import.meta.url);
const frameworkMain = require.resolve('@google-cloud/functions-framework/build/src/main.js');

/** How one function is hosted locally: which module registers it and which topic triggers it. */
export interface HostedFunction {
  /** The function's registered name (functions.cloudEvent(name, ...)), also its process name. */
  name: string;
  /** Absolute path of the module that registers the function. */
  source: string;
  /** Topic whose messages trigger the function. */
  topic: string;
  /** Push subscription delivering the topic to the function. */
  subscription: string;
  /** Topic receiving messages after `maxDeliveryAttempts` failed deliveries. */
  deadLetterTopic: string;
  /** 5..100, as Pub/Sub allows. */
  maxDeliveryAttempts: number;
  /** Seconds Pub/Sub waits for the function before redelivering (10..600). */
  ackDeadlineSeconds?: number;
}

export interface FunctionState extends ServerState {
  name: string;
  subscription: string;
}

export interface FunctionsState {
  functions: FunctionState[];
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
 * Starts one function and (re)creates its push subscription pointing at it. Idempotent per
 * subscription name: an existing subscription is replaced so it points at the new port.
 */
export async function hostFunction(
  ctx: Pick<StackContext, 'stateDir' | 'projectId' | 'env'>,
  fn: HostedFunction,
): Promise<FunctionState> {
  const emulatorHost = ctx.env.PUBSUB_EMULATOR_HOST;
  if (!emulatorHost) throw new Error('hosting a function needs the Pub/Sub emulator (PUBSUB_EMULATOR_HOST)');
  const port = await freePort();
  const logFile = join(ctx.stateDir, 'logs', `function-${fn.name}.log`);
  const pid = startProcess({
    command: process.execPath,
    args: [
      frameworkMain,
      `--target=${fn.name}`,
      `--source=${fn.source}`,
      `--port=${port}`,
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
    host: `127.0.0.1:${port}`,
    logFile,
    name: fn.name,
    subscription: fn.subscription,
  };
  try {
    await waitFor(() => isAlive(pid) && httpReady(`http://${state.host}/`, () => true), {
      timeoutMs: 30_000,
      what: `function ${fn.name} on ${state.host} (log: ${logFile})`,
    });
    const pubsub = emulatorPubSub(ctx.projectId, emulatorHost);
    try {
      await ensureTopic(pubsub, fn.topic);
      await ensureTopic(pubsub, fn.deadLetterTopic);
      const sub = pubsub.subscription(fn.subscription);
      const [exists] = await sub.exists();
      if (exists) await sub.delete();
      await pubsub.createSubscription(fn.topic, fn.subscription, {
        // The path names the topic, as Cloud Functions' push endpoints do; functions-framework reads it.
        pushConfig: { pushEndpoint: `http://${state.host}/projects/${ctx.projectId}/topics/${fn.topic}` },
        ackDeadlineSeconds: fn.ackDeadlineSeconds ?? 60,
        deadLetterPolicy: {
          deadLetterTopic: `projects/${ctx.projectId}/topics/${fn.deadLetterTopic}`,
          maxDeliveryAttempts: fn.maxDeliveryAttempts,
        },
        retryPolicy: { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 10 } },
      });
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

/** The functions part of the stack: hosts every function the registry lists. */
export function functionsPart(registry: () => Promise<HostedFunction[]>): Part<FunctionsState> {
  return {
    name: 'functions',
    async start(ctx) {
      const started: FunctionState[] = [];
      try {
        for (const fn of await registry()) started.push(await hostFunction(ctx, fn));
      } catch (err) {
        await Promise.all(started.map(stopFunction));
        throw err;
      }
      return { functions: started };
    },
    async stop(state) {
      await Promise.all(state.functions.map(stopFunction));
    },
    async check(state): Promise<PartStatus> {
      const down = state.functions.filter((f) => !isAlive(f.pid)).map((f) => f.name);
      if (down.length > 0) return { state: 'failed', detail: `not running: ${down.join(', ')}` };
      return { state: 'running', detail: `${state.functions.length} function(s)` };
    },
  };
}
