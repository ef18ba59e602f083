// The environment of a function or CLI invocation, read once, lazily, through one typed module.
import { z } from 'zod';

const envSchema = z.object({
  GOOGLE_CLOUD_PROJECT: z.string().min(1).optional(),
  GCLOUD_PROJECT: z.string().min(1).optional(),
  FIRESTORE_EMULATOR_HOST: z.string().min(1).optional(),
  PUBSUB_EMULATOR_HOST: z.string().min(1).optional(),
  KUBECONFIG: z.string().min(1).optional(),
  /** Firestore database id; "(default)" unless the deployment names another. */
  SWITCHYARD_DATABASE: z.string().min(1).default('(default)'),
  /** Prefix of every Switchyard topic and subscription name. */
  SWITCHYARD_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/)
    .default('switchyard'),
  /** How long a step's claim on a release holds if its function dies. */
  SWITCHYARD_LEASE_SECONDS: z.coerce.number().int().min(5).max(540).default(45),
  /** Longest timer a function waits for itself; later ones are fired by the sweep. */
  SWITCHYARD_INLINE_WAIT_SECONDS: z.coerce.number().int().min(0).max(240).default(25),
  /** How far ahead the sweep takes timers: a little more than the scheduler's period. */
  SWITCHYARD_SWEEP_LOOKAHEAD_SECONDS: z.coerce.number().int().min(1).max(300).default(65),
  /** Where the notify function finds its mounted secrets: <dir>/<secret-id>/<secret-id>. */
  SWITCHYARD_SECRETS_DIR: z.string().min(1).default('/etc/secrets'),
  /** Longest wait for one notifier's answer; a notification is tried 3 times. */
  SWITCHYARD_NOTIFY_TIMEOUT_MS: z.coerce.number().int().min(100).max(15_000).default(5000),
});

export interface Config {
  projectId: string;
  databaseId: string;
  prefix: string;
  firestoreEmulatorHost: string | undefined;
  pubsubEmulatorHost: string | undefined;
  kubeconfig: string | undefined;
  leaseMs: number;
  inlineWaitMs: number;
  sweepLookaheadMs: number;
  secretsDir: string;
  notifyTimeoutMs: number;
}

let cached: Config | undefined;

/** The configuration of this process, from its environment (validated on first use). */
export function config(env: NodeJS.ProcessEnv = process.env): Config {
  if (cached && env === process.env) return cached;
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid environment: ${issues}`);
  }
  const e = parsed.data;
  const projectId = e.GOOGLE_CLOUD_PROJECT ?? e.GCLOUD_PROJECT;
  if (!projectId) {
    throw new Error(
      'GOOGLE_CLOUD_PROJECT is not set: set it to the project that runs Switchyard (or use --project)',
    );
  }
  const result: Config = {
    projectId,
    databaseId: e.SWITCHYARD_DATABASE,
    prefix: e.SWITCHYARD_PREFIX,
    firestoreEmulatorHost: e.FIRESTORE_EMULATOR_HOST,
    pubsubEmulatorHost: e.PUBSUB_EMULATOR_HOST,
    kubeconfig: e.KUBECONFIG,
    leaseMs: e.SWITCHYARD_LEASE_SECONDS * 1000,
    inlineWaitMs: e.SWITCHYARD_INLINE_WAIT_SECONDS * 1000,
    sweepLookaheadMs: e.SWITCHYARD_SWEEP_LOOKAHEAD_SECONDS * 1000,
    secretsDir: e.SWITCHYARD_SECRETS_DIR,
    notifyTimeoutMs: e.SWITCHYARD_NOTIFY_TIMEOUT_MS,
  };
  if (env === process.env) cached = result;
  return result;
}

/** Forgets the cached configuration (tests that change the environment). */
export function resetConfig(): void {
  cached = undefined;
}
