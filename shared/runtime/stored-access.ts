// Who may act on a stored target, as the functions see it: the installation's operators and access
// policy from their configuration, and the target's metadata.labels and spec.access as stored
// (shared/identity/access.ts decides; this reads what it decides on).
import type { DocumentData } from '@google-cloud/firestore';
import {
  type Access,
  accessSchema,
  authorize,
  type Decision,
  type Identity,
  type Installation,
} from '../identity/access.ts';
import type { Deps } from './deps.ts';

/** The installation's operators and access policy, as the functions were configured. */
export function installationOf(d: Deps): Installation {
  return { operators: d.identity.operators, policy: d.identity.policy ?? [] };
}

/** A stored target's metadata.labels, as the policy's selectors match them (none when not a map of strings). */
export function labelsOf(data: DocumentData): Record<string, string> {
  const labels = (data.metadata as { labels?: unknown } | undefined)?.labels;
  if (!labels || typeof labels !== 'object' || Array.isArray(labels)) return {};
  return Object.fromEntries(
    Object.entries(labels as Record<string, unknown>).filter(
      (e): e is [string, string] => typeof e[1] === 'string',
    ),
  );
}

/**
 * Whether `who` may change the stored target `data`: by its stored spec.access and the policy rules
 * that select its stored labels. A stored access that no longer validates (edited by hand) vouches
 * for nobody: then only the installation's operators may apply it again.
 */
export function authorizeStored(
  name: string,
  data: DocumentData,
  installation: Installation,
  who: Identity,
): Decision {
  const raw = (data.spec as { access?: unknown } | undefined)?.access;
  let access: Access | undefined;
  if (raw !== undefined) {
    const read = accessSchema.safeParse(raw);
    if (!read.success) {
      return authorize({ name }, { operators: installation.operators }, who, 'apply');
    }
    access = read.data;
  }
  return authorize({ name, labels: labelsOf(data), access }, installation, who, 'apply');
}
