// The environment of a function or CLI invocation, read once, lazily, through one typed module.
import { z } from 'zod';
import { type AccessPolicy, type Principal, parseAccessPolicy, parseOperators } from './identity/access.ts';
import type { IssuerConfig } from './identity/token.ts';

const envSchema = z.object({
  GOOGLE_CLOUD_PROJECT: z.string().min(1).optional(),
  GCLOUD_PROJECT: z.string().min(1).optional(),
  FIRESTORE_EMULATOR_HOST: z.string().min(1).optional(),
  PUBSUB_EMULATOR_HOST: z.string().min(1).optional(),
  KUBECONFIG: z.string().min(1).optional(),
  /** Firestore database id; "(default)" unless the deployment names another. */
  SWITCHYARD_DATABASE: z.string().min(1).default('(default)'),
  /**
   * Service accounts the pods of `job` metrics may run as: comma-separated names (default: only
   * `default`). shared/analysis/providers/job/policy.ts holds the rest of the Job policy.
   */
  SWITCHYARD_JOB_SERVICE_ACCOUNTS: z.string().optional(),
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
  /**
   * Addresses requests chosen by target authors (web metrics, Prometheus addresses, notifiers) may
   * reach besides the public internet: CIDRs, addresses, host names or *.suffixes, comma-separated
   * (shared/egress). Link-local and metadata addresses stay refused whatever it says.
   */
  SWITCHYARD_EGRESS_ALLOW: z.string().default(''),
  /**
   * Which targets may use which notifier secrets: JSON `{"<secret id>": {"targets": [names],
   * "matchLabels": {k: v}}}`, or the path of a file of it (shared/notify/grants.ts). A secret it
   * does not name is used by no target.
   */
  SWITCHYARD_NOTIFY_SECRET_GRANTS: z.string().default('{}'),
  /**
   * Where the notify function reaches Slack's Web API (chat.postMessage) for Slack notifiers with a
   * bot token: an installation setting, never a target's, so no target can send a token elsewhere.
   * The local stack points it at a stand-in that its tests run.
   */
  SWITCHYARD_SLACK_API_URL: z
    .url({ protocol: /^https?$/ })
    .default('https://slack.com/api')
    .transform((u) => u.replace(/\/+$/, '')),
  /**
   * Local stack only (never set in a deployment): a JSON file of crashes to stage at step
   * boundaries, for the fault tests (shared/runtime/faults.ts).
   */
  SWITCHYARD_FAULTS_FILE: z.string().min(1).optional(),
  /**
   * Local stack only (never set in a deployment): a JSON file of host names and the addresses they
   * resolve to, consulted before DNS, so the egress tests can name a host that resolves to the
   * metadata address (shared/egress/fetch.ts).
   */
  SWITCHYARD_EGRESS_HOSTS_FILE: z.string().min(1).optional(),
  /** The issuer of the ID tokens control messages carry (Google's; the local stack runs its own). */
  SWITCHYARD_ID_ISSUER: z.string().url().default('https://accounts.google.com'),
  /** Where that issuer publishes its keys (a JWKS). */
  SWITCHYARD_ID_CERTS_URL: z.string().url().default('https://www.googleapis.com/oauth2/v3/certs'),
  /** The audience of those ID tokens, fixed per installation (default: from project and prefix). */
  SWITCHYARD_ID_AUDIENCE: z.string().min(1).optional(),
  /**
   * Who may run every control command on a target without spec.access: comma-separated emails,
   * user:EMAIL, serviceAccount:EMAIL or domain:DOMAIN. Empty: nobody.
   */
  SWITCHYARD_OPERATORS: z
    .string()
    .default('')
    .superRefine((v, ctx) => {
      try {
        parseOperators(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  /**
   * The installation's access policy: a JSON list of rules `{"selector": {"matchLabels": {k: v}},
   * "members": [principals], "commands": [commands]}`, each for the targets whose labels match
   * (shared/identity/access.ts). Empty: none.
   */
  SWITCHYARD_ACCESS_POLICY: z
    .string()
    .default('')
    .superRefine((v, ctx) => {
      try {
        parseAccessPolicy(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  /** Local stack only (never in a deployment): the local issuer's token endpoint, for the CLI. */
  SWITCHYARD_LOCAL_TOKEN_URL: z.string().url().optional(),
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
  faultsFile: string | undefined;
  /** SWITCHYARD_NOTIFY_SECRET_GRANTS as written (parsed by shared/notify/grants.ts). */
  notifySecretGrants: string;
  /** SWITCHYARD_SLACK_API_URL, without a trailing "/". */
  slackApiUrl: string;
  /** How control messages' ID tokens are verified: issuer, its keys, this installation's audience. */
  identity: IssuerConfig;
  operators: Principal[];
  /** SWITCHYARD_ACCESS_POLICY: rules by label selector, beside each target's spec.access. */
  accessPolicy: AccessPolicy;
  localTokenUrl: string | undefined;
}

/** The audience of an installation's ID tokens unless SWITCHYARD_ID_AUDIENCE names one. */
export function defaultAudience(projectId: string, prefix: string): string {
  return `https://switchyard.dev/projects/${projectId}/installations/${prefix}`;
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
    faultsFile: e.SWITCHYARD_FAULTS_FILE,
    notifySecretGrants: e.SWITCHYARD_NOTIFY_SECRET_GRANTS,
    slackApiUrl: e.SWITCHYARD_SLACK_API_URL,
    identity: {
      issuer: e.SWITCHYARD_ID_ISSUER,
      certsUrl: e.SWITCHYARD_ID_CERTS_URL,
      audience: e.SWITCHYARD_ID_AUDIENCE ?? defaultAudience(projectId, e.SWITCHYARD_PREFIX),
    },
    operators: parseOperators(e.SWITCHYARD_OPERATORS),
    accessPolicy: parseAccessPolicy(e.SWITCHYARD_ACCESS_POLICY),
    localTokenUrl: e.SWITCHYARD_LOCAL_TOKEN_URL,
  };
  if (env === process.env) cached = result;
  return result;
}

/**
 * The egress settings alone (shared/egress): they need no project, so a provider asked outside a
 * function (tests, the CLI) reads them too. Read on every call: the allow-list is a short string.
 */
export function egressConfig(env: NodeJS.ProcessEnv = process.env): {
  /** SWITCHYARD_EGRESS_ALLOW as written. */
  allow: string;
  hostsFile: string | undefined;
} {
  const e = envSchema.pick({ SWITCHYARD_EGRESS_ALLOW: true, SWITCHYARD_EGRESS_HOSTS_FILE: true }).parse(env);
  return { allow: e.SWITCHYARD_EGRESS_ALLOW, hostsFile: e.SWITCHYARD_EGRESS_HOSTS_FILE };
}

/** Forgets the cached configuration (tests that change the environment). */
export function resetConfig(): void {
  cached = undefined;
}

/**
 * The `job` provider's settings alone: they need no project, since validate reads them as well as
 * the functions. Read on every call (a short string).
 */
export function jobPolicyConfig(env: NodeJS.ProcessEnv = process.env): {
  serviceAccounts: string | undefined;
} {
  const e = envSchema.pick({ SWITCHYARD_JOB_SERVICE_ACCOUNTS: true }).parse(env);
  return { serviceAccounts: e.SWITCHYARD_JOB_SERVICE_ACCOUNTS };
}
