// The kubeconfig `validate` and `apply` check a target's cluster context against: the one the
// functions connect with, as far as the CLI can know it. A context that does not exist there
// would leave the target's releases Pending, so it is refused before anything is stored.
import { delimiter } from 'node:path';
import type { EnvironmentSource } from './stack-env.ts';

/**
 * Pure: the local stack's kubeconfig when the CLI uses the local stack (its functions connect with
 * it, whatever $KUBECONFIG says), else $KUBECONFIG; undefined when there is none (contexts are then
 * not checked: a platform's functions may well have a kubeconfig the CLI does not).
 */
export function kubeconfigToCheck(source: EnvironmentSource, env: NodeJS.ProcessEnv): string | undefined {
  if (source.kind === 'local-stack' && source.kubeconfig) return source.kubeconfig;
  return env.KUBECONFIG || undefined;
}

/**
 * The names of the contexts of a kubeconfig (a list of files separated by ":", as $KUBECONFIG may
 * be), read as the functions read it (@kubernetes/client-node), or why it cannot be read.
 */
export async function kubeconfigContexts(
  kubeconfig: string,
): Promise<{ contexts: string[] } | { error: string }> {
  // Loaded only when a file has a context to check: the client library takes a while to import.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const contexts = new Set<string>();
  for (const file of kubeconfig.split(delimiter).filter(Boolean)) {
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(file);
    } catch (err) {
      return { error: `cannot read kubeconfig ${file}: ${err instanceof Error ? err.message : String(err)}` };
    }
    for (const c of kc.getContexts()) contexts.add(c.name);
  }
  return { contexts: [...contexts] };
}
