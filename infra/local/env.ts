// The environment that points clients (and the functions) at a local stack's parts, apart from the
// stack itself, so the CLI can print it without loading the stack's parts.
import { issuerEnv } from './components/issuer.ts';
import { registryEnv } from './components/registry.ts';

/** The environment variables that point clients (and functions) at a stack's parts. */
export function stackEnv(status: {
  projectId: string;
  firestoreEmulatorHost: string | null;
  pubsubEmulatorHost: string | null;
  kubeconfig: string | null;
  prometheusUrl: string | null;
  issuerUrl?: string | null;
  registryUrl?: string | null;
}): Record<string, string> {
  // No metadata server here: without this, Google's clients probe for one and warn.
  const env: Record<string, string> = {
    GOOGLE_CLOUD_PROJECT: status.projectId,
    METADATA_SERVER_DETECTION: 'none',
  };
  if (status.firestoreEmulatorHost) env.FIRESTORE_EMULATOR_HOST = status.firestoreEmulatorHost;
  if (status.pubsubEmulatorHost) {
    env.PUBSUB_EMULATOR_HOST = status.pubsubEmulatorHost;
    env.PUBSUB_PROJECT_ID = status.projectId;
  }
  if (status.kubeconfig) env.KUBECONFIG = status.kubeconfig;
  if (status.prometheusUrl) env.SWITCHYARD_PROMETHEUS_URL = status.prometheusUrl;
  if (status.issuerUrl) Object.assign(env, issuerEnv(new URL(status.issuerUrl).host));
  if (status.registryUrl) Object.assign(env, registryEnv(status.registryUrl));
  return env;
}
