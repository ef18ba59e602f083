// With no Google project configured, the CLI talks to the local dev stack (`switchyard dev up`).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultStateDir } from '../infra/local/stack.ts';

/** Fills the emulator variables from the default dev stack when GOOGLE_CLOUD_PROJECT is unset. */
export function useLocalStackWhenUnset(): void {
  if (process.env.GOOGLE_CLOUD_PROJECT) return;
  const file = join(defaultStateDir(), 'stack.json');
  if (!existsSync(file)) return;
  const state = JSON.parse(readFileSync(file, 'utf8')) as {
    projectId: string;
    parts: { firestore?: { host: string }; pubsub?: { host: string }; kubernetes?: { kubeconfig: string } };
  };
  process.env.GOOGLE_CLOUD_PROJECT = state.projectId;
  if (state.parts.firestore) process.env.FIRESTORE_EMULATOR_HOST ??= state.parts.firestore.host;
  if (state.parts.pubsub) process.env.PUBSUB_EMULATOR_HOST ??= state.parts.pubsub.host;
  if (state.parts.kubernetes) process.env.KUBECONFIG ??= state.parts.kubernetes.kubeconfig;
}
