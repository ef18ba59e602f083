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
}

export interface PartStatus {
  state: 'running' | 'stopped' | 'failed';
  detail?: string;
}

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
   * Optional: brings back what died inside a part without disturbing what still runs (e.g. one
   * crashed function). Returns the new state; throws when only a full restart can help.
   */
  repair?(state: S, ctx: StackContext): Promise<S>;
  /** Reports whether the part answers; never throws. */
  check(state: S, ctx: StackContext): Promise<PartStatus>;
}
