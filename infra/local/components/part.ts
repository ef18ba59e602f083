// The contract every part of the local stack implements (emulators, Kubernetes, Prometheus, functions).

export interface StackContext {
  /** Folder holding this stack's state file, logs and data. */
  stateDir: string;
  /** Google Cloud project id used with the emulators. */
  projectId: string;
  /** Progress lines for humans (stderr). */
  log(message: string): void;
  /**
   * Environment that reaches the parts already running (FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST,
   * KUBECONFIG, ...); parts started later (the functions) hand it to their processes.
   */
  env: Record<string, string>;
  /** Ports a part should take when they are free (the default stack uses firebase.json's). */
  preferredPorts: Partial<Record<string, number>>;
  /**
   * How each part already running is reached, by part name, as its `endpoint` says (e.g. the
   * emulators' host:port, the API server's address with a digest of its kubeconfig). A part that
   * depends on others records the endpoints it was started against and is not ready once they
   * changed, until `repair` restarted it against the new ones.
   */
  endpoints: Record<string, string>;
}

export interface PartStatus {
  /**
   * running: it answers and holds what it should. not-ready: its processes run, but something it
   * needs is missing or stale (topics and subscriptions lost by a restarted emulator, an API server
   * that moved); `up` repairs it. failed: processes died or do not answer. stopped: not started.
   */
  state: 'running' | 'not-ready' | 'stopped' | 'failed';
  detail?: string;
}

/**
 * Thrown by `repair` when it could not bring the part back and starting the part from nothing would
 * destroy data it holds (a cluster's etcd and certificates): `up` fails with this message instead of
 * wiping the part.
 */
export class WouldLoseDataError extends Error {}

/** A server process the stack started: its process group and where it listens. */
export interface ServerState {
  pid: number;
  /** host:port on loopback. */
  host: string;
  logFile: string;
}

export interface Part<S> {
  name: string;
  /** Starts the part from nothing and returns what is needed to reach and stop it. */
  start(ctx: StackContext): Promise<S>;
  /** Stops everything `start` began. Idempotent: stopping a stopped part is fine. */
  stop(state: S, ctx: StackContext): Promise<void>;
  /**
   * Optional: makes a part that `check` found not running healthy again from its recorded state,
   * without disturbing what still runs (one crashed function, a dead API server restarted on its etcd
   * data, lost subscriptions recreated). Returns the new state; throws when only a full restart can
   * help (WouldLoseDataError: when even that must not be done).
   */
  repair?(state: S, ctx: StackContext): Promise<S>;
  /**
   * Reports whether the part answers and holds what it should (not only whether its processes are
   * alive); never throws. Cheap: `up` calls it on every part, also on a healthy stack.
   */
  check(state: S, ctx: StackContext): Promise<PartStatus>;
  /**
   * Optional: how dependents reach the part (StackContext.endpoints); a change means they must be
   * restarted. Reads only local files; never throws.
   */
  endpoint?(state: S): string;
}
