// Where the CLI's Firestore and Pub/Sub are: Google Cloud with Application Default Credentials when a
// project is named (`--project`, or GOOGLE_CLOUD_PROJECT / GCLOUD_PROJECT), else the local dev stack
// that `switchyard dev up` started (its stack.json), else nowhere (commands then say what to do).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultStateDir } from '../infra/local/paths.ts';

/** How the CLI found its backend, for messages that say what to do when it cannot be reached. */
export type EnvironmentSource =
  /** `--project`: Google Cloud, unless the environment names emulators itself. */
  | { kind: 'flag'; project: string }
  /** GOOGLE_CLOUD_PROJECT or GCLOUD_PROJECT was set (with or without emulator hosts). */
  | { kind: 'environment'; project: string }
  /**
   * The local dev stack described by `<stateDir>/stack.json`; `kubeconfig` is its cluster's, which
   * its functions connect with (whatever $KUBECONFIG says).
   */
  | { kind: 'local-stack'; project: string; stateDir: string; kubeconfig?: string }
  /** No project anywhere: commands that need Firestore fail with advice. */
  | { kind: 'none'; stateDir: string };

/** What `switchyard dev up` writes: the project and the parts' addresses. */
export interface StackFile {
  projectId: string;
  parts: {
    firestore?: { host: string };
    pubsub?: { host: string };
    kubernetes?: { kubeconfig: string };
    /** The stack's ID-token issuer: the CLI signs its control commands with a token from it. */
    issuer?: { host: string };
  };
}

/**
 * Pure: the variables to set for a `--project` flag and an environment, and where they point.
 * `--project` never falls back to the local stack (the stack file is not even read), so a typo in an
 * emulator variable cannot turn a production command into a local one or the other way round; only
 * emulator hosts set explicitly in the environment are kept.
 */
export function resolveEnvironment(
  env: NodeJS.ProcessEnv,
  project: string | undefined,
  stackDir: string,
  readStack: (dir: string) => StackFile | null,
): { set: Record<string, string>; source: EnvironmentSource } {
  if (project) return { set: { GOOGLE_CLOUD_PROJECT: project }, source: { kind: 'flag', project } };
  const fromEnv = env.GOOGLE_CLOUD_PROJECT || env.GCLOUD_PROJECT;
  if (fromEnv) return { set: {}, source: { kind: 'environment', project: fromEnv } };
  const stack = readStack(stackDir);
  if (!stack) return { set: {}, source: { kind: 'none', stateDir: stackDir } };
  const set: Record<string, string> = {
    GOOGLE_CLOUD_PROJECT: stack.projectId,
    // No Google metadata server beside the emulators: the client libraries must not probe for one.
    METADATA_SERVER_DETECTION: env.METADATA_SERVER_DETECTION ?? 'none',
  };
  const { firestore, pubsub, kubernetes, issuer } = stack.parts;
  if (firestore && !env.FIRESTORE_EMULATOR_HOST) set.FIRESTORE_EMULATOR_HOST = firestore.host;
  if (issuer && !env.SWITCHYARD_LOCAL_TOKEN_URL)
    set.SWITCHYARD_LOCAL_TOKEN_URL = `http://${issuer.host}/token`;
  if (pubsub && !env.PUBSUB_EMULATOR_HOST) set.PUBSUB_EMULATOR_HOST = pubsub.host;
  if (kubernetes && !env.KUBECONFIG) set.KUBECONFIG = kubernetes.kubeconfig;
  return {
    set,
    source: {
      kind: 'local-stack',
      project: stack.projectId,
      stateDir: stackDir,
      ...(kubernetes ? { kubeconfig: kubernetes.kubeconfig } : {}),
    },
  };
}

function readStackFile(dir: string): StackFile | null {
  const file = join(dir, 'stack.json');
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StackFile;
  } catch {
    return null;
  }
}

let source: EnvironmentSource | undefined;

/** Sets the process environment for `--project` (or its absence), once per invocation. */
export function applyEnvironment(project?: string): EnvironmentSource {
  const resolved = resolveEnvironment(process.env, project, defaultStateDir(), readStackFile);
  Object.assign(process.env, resolved.set);
  source = resolved.source;
  return source;
}

/** Where the backend was found (applyEnvironment() runs before every command's action). */
export function environmentSource(): EnvironmentSource {
  return source ?? applyEnvironment();
}
