// The CLI's Firestore and Pub/Sub: opened once per command, checked before use (an emulator that
// does not answer is reported at once instead of after the client library's minute of retries), and
// every failure turned into a message that says what to do.
import { connect as tcpConnect } from 'node:net';
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import type { Store } from '../shared/adapters/store.ts';
import { type Config, config } from '../shared/config.ts';
import { ClusterError } from '../shared/kubernetes/cluster-error.ts';
import type { TargetStore } from '../shared/target/store.ts';
import { CliError, exitCodes } from './exit-codes.ts';
import { type EnvironmentSource, environmentSource } from './stack-env.ts';

export interface Backend {
  cfg: Config;
  db: Firestore;
  store: Store;
  targets: TargetStore;
  /** The Pub/Sub client, opened (and its emulator checked) on first use. */
  pubsub(): Promise<PubSub>;
  /** Closes every client; the process can then exit. */
  close(): Promise<void>;
}

/** The configuration, or advice on naming a project when there is none. */
export function cliConfig(): Config {
  try {
    return config();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (message.includes('GOOGLE_CLOUD_PROJECT is not set')) throw noProject(environmentSource());
    throw new CliError(exitCodes.failure, message);
  }
}

function noProject(source: EnvironmentSource): CliError {
  const stack = source.kind === 'none' ? ` (there is none in ${source.stateDir})` : '';
  return new CliError(
    exitCodes.failure,
    `no Google Cloud project: run \`switchyard dev up\` to use the local stack${stack}, or pass --project <id> for Google Cloud (credentials: gcloud auth application-default login)`,
  );
}

/** Opens Firestore, after checking that an emulator, if one is configured, answers. */
export async function openBackend(): Promise<Backend> {
  const cfg = cliConfig();
  if (cfg.firestoreEmulatorHost) await requireEmulator('Firestore', cfg.firestoreEmulatorHost);
  // Google's clients are loaded by the commands that use them, not by `switchyard --help`.
  const [{ firestoreClient, pubsubClient }, { Store }, { TargetStore }] = await Promise.all([
    import('../shared/adapters/clients.ts'),
    import('../shared/adapters/store.ts'),
    import('../shared/target/store.ts'),
  ]);
  const db = firestoreClient(cfg);
  let pubsub: PubSub | undefined;
  return {
    cfg,
    db,
    store: new Store(db),
    targets: new TargetStore(db),
    async pubsub() {
      if (!pubsub) {
        if (cfg.pubsubEmulatorHost) await requireEmulator('Pub/Sub', cfg.pubsubEmulatorHost);
        pubsub = pubsubClient(cfg);
      }
      return pubsub;
    },
    async close() {
      await Promise.allSettled([pubsub?.close(), db.terminate()]);
    },
  };
}

/** Runs `work` on an open backend and closes it after, whatever happens. */
export async function withBackend<T>(work: (b: Backend) => Promise<T>): Promise<T> {
  const backend = await openBackend();
  try {
    return await work(backend);
  } finally {
    await backend.close();
  }
}

/** Resolves when something accepts TCP connections at host:port within `timeoutMs`. */
export function answers(host: string, timeoutMs = 2000): Promise<boolean> {
  const at = host.lastIndexOf(':');
  const hostname = host.slice(0, at).replace(/^\[(.*)\]$/, '$1') || 'localhost';
  const port = Number(host.slice(at + 1));
  return new Promise((resolve) => {
    if (at < 0 || !Number.isInteger(port)) return resolve(false);
    const socket = tcpConnect({ host: hostname, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

async function requireEmulator(what: 'Firestore' | 'Pub/Sub', host: string): Promise<void> {
  if (await answers(host)) return;
  const source = environmentSource();
  const variable = what === 'Firestore' ? 'FIRESTORE_EMULATOR_HOST' : 'PUBSUB_EMULATOR_HOST';
  throw new CliError(
    exitCodes.failure,
    source.kind === 'local-stack'
      ? `the local stack in ${source.stateDir} is not running (its ${what} emulator at ${host} does not answer): run \`switchyard dev up\`, or pass --project <id> for Google Cloud`
      : `the ${what} emulator at ${host} (${variable}) does not answer: start it (\`switchyard dev up\` runs the local stack), or unset ${variable} to use Google Cloud`,
  );
}

/** Any failure of a command as a CliError whose message says what to check or run. */
export function explainFailure(err: unknown): CliError {
  if (err instanceof CliError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const first = message.split('\n')[0] ?? message;
  if (err instanceof ClusterError) {
    const fix =
      err.kind === 'forbidden'
        ? ': check your credentials and RBAC in the cluster'
        : err.kind === 'unavailable'
          ? ': is the cluster reachable? (`switchyard dev status` for the local stack)'
          : '';
    return new CliError(exitCodes.failure, `${first}${fix}`);
  }
  let cfg: Config;
  try {
    cfg = config();
  } catch {
    return new CliError(exitCodes.failure, first);
  }
  const where = cfg.firestoreEmulatorHost
    ? `the Firestore emulator at ${cfg.firestoreEmulatorHost}`
    : `Firestore of project ${cfg.projectId}`;
  const code = (err as { code?: unknown } | null)?.code;
  if (/Could not load the default credentials|Could not refresh access token/.test(message)) {
    return new CliError(
      exitCodes.failure,
      `no Google credentials for project ${cfg.projectId} (${first}): run \`gcloud auth application-default login\` or set GOOGLE_APPLICATION_CREDENTIALS; for the local stack leave out --project and run \`switchyard dev up\``,
    );
  }
  if (code === 14 || code === 4) {
    return new CliError(
      exitCodes.failure,
      `cannot reach ${where} (${first}): ${
        cfg.firestoreEmulatorHost
          ? 'is the local stack up? `switchyard dev status` shows it, `switchyard dev up` starts it'
          : 'check the network and that Firestore is enabled in the project'
      }`,
    );
  }
  if (code === 7 || code === 16) {
    return new CliError(
      exitCodes.failure,
      `${where} refused access (${first}): check your credentials (gcloud auth application-default login) and IAM roles`,
    );
  }
  if (code === 5 && /database/i.test(message)) {
    return new CliError(
      exitCodes.failure,
      `${where} has no database ${cfg.databaseId} (${first}): is Switchyard deployed in project ${cfg.projectId}? (--project)`,
    );
  }
  return new CliError(exitCodes.failure, first);
}
