// Kubernetes name rules that more than the ReleaseTarget schema needs: a target's name is also the id
// of its Firestore documents and what every message about it names (messages.ts), so it is defined once.
import { z } from 'zod';

/** Namespaces and most object names: a DNS-1123 label. */
export const dns1123Label = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit',
  );

/**
 * A target's name (metadata.name): a DNS-1123 label, which is also a safe Firestore document id
 * (no "/", never "." or "..", never "__…__").
 */
export const targetName = dns1123Label;
