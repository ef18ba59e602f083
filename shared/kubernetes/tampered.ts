// Whether an existing Deployment is still the revision it is named after: its pod template against
// the one Switchyard would create. Pure.
import type { V1Deployment } from '@kubernetes/client-node';
import { labels } from './types.ts';

/**
 * Why an existing Deployment cannot be trusted as the revision it is named after: its pod template
 * is not the one Switchyard would create for that revision (edited by hand, or made outside
 * Switchyard under a revision's name). Every field of the wanted template must be there with the
 * same value; fields the API server filled in with defaults are allowed beside them. Null when it
 * is intact.
 */
export function tamperedReason(existing: V1Deployment, desired: V1Deployment): string | null {
  const differs = firstDifference(
    JSON.parse(JSON.stringify(desired.spec?.template ?? {})),
    JSON.parse(JSON.stringify(existing.spec?.template ?? {})),
    'spec.template',
  );
  if (!differs) return null;
  return `Deployment "${existing.metadata?.name}" is named after revision ${existing.metadata?.labels?.[labels.revision]} but its pod template is not that revision's (${differs}): it was changed or made outside Switchyard; delete it or restore its template`;
}

/** The first path where `actual` lacks or changes what `wanted` has (arrays: same length, item by item). */
function firstDifference(wanted: unknown, actual: unknown, path: string): string | null {
  if (wanted === null || typeof wanted !== 'object') {
    return wanted === actual
      ? null
      : `${path} is ${JSON.stringify(actual)?.slice(0, 120)}, not ${JSON.stringify(wanted)?.slice(0, 120)}`;
  }
  if (Array.isArray(wanted)) {
    if (!Array.isArray(actual) || actual.length !== wanted.length) return `${path} differs`;
    for (let i = 0; i < wanted.length; i++) {
      const d = firstDifference(wanted[i], actual[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return `${path} differs`;
  for (const [key, value] of Object.entries(wanted)) {
    const d = firstDifference(value, (actual as Record<string, unknown>)[key], `${path}.${key}`);
    if (d) return d;
  }
  return null;
}
