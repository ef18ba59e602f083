// Kubernetes name rules, the one copy: the ReleaseTarget schema, its canary strategy, notifiers and the
// routers' configurations name objects with them. A target's name is also the id of its Firestore
// documents and what every message about it names (messages.ts), so it is defined here too.
import { z } from 'zod';

const label = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';

/** Namespaces and most object names: a DNS-1123 label. */
export const dns1123Label = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(
    new RegExp(`^${label}$`),
    'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit',
  );

/**
 * Service names: the stricter DNS-1035 label (must start with a letter), which the API server
 * enforces on create.
 */
export const serviceName = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(
    /^[a-z]([-a-z0-9]*[a-z0-9])?$/,
    'must be a Service name (DNS-1035 label): lower-case letters, digits and "-", starting with a letter',
  );

/**
 * A DNS-1123 subdomain (Ingress names and the like), called `what` in messages, e.g. "an Ingress
 * name". At most 253 characters as Kubernetes allows, or `max` where a suffix must still fit.
 */
export function dns1123Subdomain(what: string, max = 253, tooLong = `must be at most ${max} characters`) {
  return z
    .string()
    .max(max, tooLong)
    .regex(
      new RegExp(`^${label}(\\.${label})*$`),
      `must be ${what} (DNS-1123 subdomain): lower-case letters, digits, "-" and ".", starting and ending with a letter or digit`,
    );
}

/** A label key: an optional DNS-subdomain prefix and "/", then a name of at most 63 characters. */
export const labelKey = z
  .string()
  .regex(
    new RegExp(`^(${label}(\\.${label})*\\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`),
    'must be a Kubernetes label key: an optional DNS prefix and "/", then a name of at most 63 characters',
  );

/** A label value: empty, or at most 63 characters starting and ending with a letter or digit. */
export const labelValue = z
  .string()
  .regex(
    /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/,
    'must be a Kubernetes label value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
  );

/**
 * A target's name (metadata.name): a DNS-1123 label, which is also a safe Firestore document id
 * (no "/", never "." or "..", never "__…__").
 */
export const targetName = dns1123Label;
