// Which targets may use which notifier secrets. Secrets (a Slack webhook URL, a webhook URL with a
// token) are mounted into the one notify function for every team; without this, any target could
// name another team's secret and post into its channel. The installation maps each secret id to the
// targets (by name, or by labels) that may use it, in SWITCHYARD_NOTIFY_SECRET_GRANTS: inline JSON,
// or the path of a JSON file (read on every use, like the secrets, so a change needs no restart).
// A secret the mapping does not name is used by no target.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const grantSchema = z
  .strictObject({
    /** Target names that may use the secret. */
    targets: z.array(z.string().min(1)).optional(),
    /** Targets whose metadata.labels include all of these may use the secret. */
    matchLabels: z.record(z.string(), z.string()).optional(),
  })
  .refine((g) => (g.targets?.length ?? 0) > 0 || Object.keys(g.matchLabels ?? {}).length > 0, {
    error: 'a grant names targets or matchLabels',
  });

export const secretGrantsSchema = z.record(z.string().regex(/^[A-Za-z0-9_-]{1,255}$/), grantSchema);
export type SecretGrants = z.output<typeof secretGrantsSchema>;

/** The variable that holds the mapping, named in every refusal. */
export const grantsVariable = 'SWITCHYARD_NOTIFY_SECRET_GRANTS';

export class SecretGrantError extends Error {}

/** The mapping from its setting: JSON when it starts with "{", else a file of JSON. Throws saying what is wrong. */
export async function loadSecretGrants(setting: string): Promise<SecretGrants> {
  const text = setting.trim().startsWith('{')
    ? setting
    : await readFile(setting, 'utf8').catch(() => {
        throw new SecretGrantError(`${grantsVariable}: cannot read the file ${setting}`);
      });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SecretGrantError(`${grantsVariable} is not JSON`);
  }
  const parsed = secretGrantsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SecretGrantError(`${grantsVariable}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/** The target as the grants see it. */
export interface GrantSubject {
  name: string;
  labels: Record<string, string>;
}

/** Why `target` may not use secret `secretId`, or undefined when it may. */
export function secretRefusal(
  grants: SecretGrants,
  target: GrantSubject,
  secretId: string,
): string | undefined {
  const grant = Object.hasOwn(grants, secretId) ? grants[secretId] : undefined;
  if (!grant) {
    return `secret "${secretId}" is not mapped to any target: the installation adds it, with the targets or labels that may use it, to ${grantsVariable}`;
  }
  if (grant.targets?.includes(target.name)) return undefined;
  const selector = Object.entries(grant.matchLabels ?? {});
  if (selector.length > 0 && selector.every(([k, v]) => target.labels[k] === v)) return undefined;
  return `secret "${secretId}" belongs to other targets (${describeGrant(grant)}), not to target ${target.name}: use a secret of this target's own, or ask the installation to map this one to it in ${grantsVariable}`;
}

function describeGrant(grant: SecretGrants[string]): string {
  const parts = [
    ...(grant.targets?.length ? [`targets ${grant.targets.join(', ')}`] : []),
    ...(grant.matchLabels && Object.keys(grant.matchLabels).length
      ? [
          `labels ${Object.entries(grant.matchLabels)
            .map(([k, v]) => `${k}=${v}`)
            .join(',')}`,
        ]
      : []),
  ];
  return parts.join('; ');
}
