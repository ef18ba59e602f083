// The local registry's webhook notifications (CNCF distribution's `notifications.endpoints`) as
// Artifact Registry's messages on `gcr` (FACTS.md §1). Pure.
//
// distribution POSTs an envelope `{events: [{action, target: {mediaType, digest, repository, tag?,
// url}, request: {host}}]}`; Artifact Registry publishes, per image push,
// `{"action":"INSERT","digest":"HOST/REPO@sha256:…"}` and with `"tag":"HOST/REPO:TAG"` when pushed by
// tag. Only manifest pushes are announced (blob uploads and pulls are not), under the Artifact
// Registry host the installation maps to this registry (SWITCHYARD_REGISTRY_ENDPOINTS).
import { sha256Digest } from '../../shared/image-ref.ts';
import { manifestTypes } from '../../shared/registry/image.ts';

export interface RegistryEvent {
  action?: string;
  target?: { mediaType?: string; digest?: string; repository?: string; tag?: string; url?: string };
  request?: { host?: string };
}

export interface GcrMessage {
  action: 'INSERT';
  digest: string;
  tag?: string;
}

/** The `gcr` messages an envelope of registry events means, in order. */
export function gcrMessagesOf(envelope: unknown, host: string): GcrMessage[] {
  const events = (envelope as { events?: unknown } | null)?.events;
  if (!Array.isArray(events)) return [];
  const out: GcrMessage[] = [];
  for (const e of events as RegistryEvent[]) {
    const t = e?.target;
    if (e?.action !== 'push' || !t?.repository || !t.digest || !sha256Digest.test(t.digest)) continue;
    if (!(manifestTypes as readonly string[]).includes(t.mediaType ?? '')) continue;
    const repository = `${host}/${t.repository}`;
    out.push({
      action: 'INSERT',
      digest: `${repository}@${t.digest}`,
      ...(t.tag ? { tag: `${repository}:${t.tag}` } : {}),
    });
  }
  return out;
}
