// Switching a Service's selector: to one revision of a workload, or back to the selector it had
// before adoption. The only writes of Services.
import { type ClusterApis, mergePatch } from './client.ts';
import { attempt } from './errors.ts';
import { requireService } from './reads.ts';
import { labels, managerName } from './types.ts';

/**
 * Idempotent (no write when the selector already is exactly the wanted one). Replaces the whole
 * selector, removing any other key, with a merge patch conditioned on the resourceVersion read, so
 * a concurrent change of the Service ends in a retriable 'conflict' instead of a mixed selector.
 * With `onlyFrom`, switches only a Service that selects revision `onlyFrom` now. Throws
 * 'not-found' naming the Service when it does not exist.
 */
export async function selectRevision(
  api: ClusterApis,
  namespace: string,
  service: string,
  workload: string,
  revision: string,
  onlyFrom?: string,
): Promise<void> {
  await replaceSelector(
    api,
    namespace,
    service,
    { [labels.name]: workload, [labels.revision]: revision },
    onlyFrom === undefined ? undefined : (selector) => selector[labels.revision] === onlyFrom,
  );
}

/** Idempotent, like selectRevision, with any selector (the one a Service had before adoption). */
export async function restoreSelector(
  api: ClusterApis,
  namespace: string,
  service: string,
  selector: Record<string, string>,
): Promise<void> {
  await replaceSelector(api, namespace, service, selector);
}

async function replaceSelector(
  api: ClusterApis,
  namespace: string,
  service: string,
  wanted: Record<string, string>,
  only?: (selector: Record<string, string>) => boolean,
): Promise<void> {
  const current = await requireService(api, namespace, service);
  const selector = current.spec?.selector ?? {};
  if (sameSelector(selector, wanted) || (only && !only(selector))) return;
  const next: Record<string, string | null> = {};
  for (const key of Object.keys(selector)) next[key] = null;
  Object.assign(next, wanted);
  await attempt(`switching the selector of Service "${service}" in namespace "${namespace}"`, () =>
    api.core.patchNamespacedService(
      {
        name: service,
        namespace,
        fieldManager: managerName,
        body: {
          metadata: { resourceVersion: current.metadata?.resourceVersion },
          spec: { selector: next },
        },
      },
      mergePatch,
    ),
  );
}

function sameSelector(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
