// Whether a pushed image is what the notification says: its digest in the registry, and its tag,
// when one is given, pointing at that digest (Docker Registry HTTP API v2, which Artifact Registry
// serves: `HEAD /v2/<name>/manifests/<digest|tag>`). Asked by the push intake outside any Firestore
// transaction, under a deadline; its answer is fed to the engine as a refusal or nothing.
import { type EgressOptions, EgressRefusedError, type EgressResponse, egressFetch } from '../egress/fetch.ts';
import type { ParsedPush } from '../engine/intake.ts';
import { manifestTypes, sha256Digest } from './image.ts';
import { locateRepository, type RegistryEndpoints } from './trust.ts';

/** A registry that could not be asked (unreachable, 5xx, timeout): the push is tried again later. */
export class RegistryUnavailableError extends Error {
  readonly kind = 'registry-unavailable';
}

export interface RegistryCheckOptions {
  endpoints: RegistryEndpoints;
  /** The function's Google access token (sent to Google's registries only). */
  token: () => Promise<string>;
  /** Longest the whole check may take. */
  timeoutMs: number;
  egress: EgressOptions;
}

/** The verdict: null when the push is what it says, else why it is refused. */
export async function checkPushedImage(push: ParsedPush, opts: RegistryCheckOptions): Promise<string | null> {
  try {
    return await check(push, opts);
  } catch (err) {
    // The egress policy refuses the registry's address: asking again will not change that.
    const refused = (err as { cause?: unknown }).cause;
    if (refused instanceof EgressRefusedError)
      return `refused: the registry is not reached: ${refused.message}`;
    throw err;
  }
}

async function check(push: ParsedPush, opts: RegistryCheckOptions): Promise<string | null> {
  const where = locateRepository(push.repository, opts.endpoints);
  if ('refused' in where) return `refused: ${where.refused}`;
  const digest = push.image.slice(push.image.lastIndexOf('@') + 1);
  const signal = AbortSignal.timeout(opts.timeoutMs);
  const headers: Record<string, string> = {};
  if (where.withToken) {
    try {
      headers.authorization = `Bearer ${await opts.token()}`;
    } catch (err) {
      throw new RegistryUnavailableError(`no token for ${where.host}: ${(err as Error).message}`);
    }
  }
  const ask = async (reference: string): Promise<EgressResponse> => {
    const url = `${where.baseUrl}/v2/${where.name}/manifests/${reference}`;
    try {
      return await egressFetch(
        { url, method: 'HEAD', headers: { accept: manifestTypes.join(', ') }, ownHeaders: headers, signal },
        { ...opts.egress, maxRedirects: 0 },
      );
    } catch (err) {
      const why = signal.aborted ? `no answer within ${opts.timeoutMs} ms` : (err as Error).message;
      throw new RegistryUnavailableError(`${where.host} could not be asked about ${push.image}: ${why}`, {
        cause: err,
      });
    }
  };
  const denied = (status: number) =>
    `${where.host} refused to show ${push.repository} (HTTP ${status}): deploy-green's service account needs roles/artifactregistry.reader on the repository`;
  const unavailable = (status: number, reference: string) =>
    new RegistryUnavailableError(`${where.host} answered HTTP ${status} for ${push.repository} ${reference}`);

  /** A registry that leaves Docker-Content-Digest out of a HEAD: the digest of the manifest's bytes. */
  const digestByGet = async (reference: string): Promise<string> => {
    const url = `${where.baseUrl}/v2/${where.name}/manifests/${reference}`;
    try {
      const r = await egressFetch(
        { url, method: 'GET', headers: { accept: manifestTypes.join(', ') }, ownHeaders: headers, signal },
        { ...opts.egress, maxRedirects: 0, maxBodyBytes: 4 * 1024 * 1024 },
      );
      if (r.status !== 200) throw unavailable(r.status, reference);
      return r.headers['docker-content-digest'] ?? sha256Digest(await r.text());
    } catch (err) {
      if (err instanceof RegistryUnavailableError) throw err;
      throw new RegistryUnavailableError(
        `${where.host} could not be asked about ${reference}: ${(err as Error).message}`,
      );
    }
  };

  const byDigest = await ask(digest);
  if (byDigest.status === 404) {
    return `refused: ${push.image} is not in the registry (${where.host} has no manifest ${digest}): a forged or deleted push is not released`;
  }
  if (byDigest.status === 401 || byDigest.status === 403) return `refused: ${denied(byDigest.status)}`;
  if (byDigest.status !== 200) throw unavailable(byDigest.status, digest);
  const answered = byDigest.headers['docker-content-digest'];
  if (answered && answered !== digest) {
    return `refused: ${where.host} answers manifest ${digest} with digest ${answered}: not released`;
  }
  if (push.tag === undefined) return null;

  const byTag = await ask(push.tag);
  if (byTag.status === 404) {
    return `refused: tag ${push.tag} of ${push.repository} is not in the registry (deleted, or never pushed): a stale or forged push is not released`;
  }
  if (byTag.status === 401 || byTag.status === 403) return `refused: ${denied(byTag.status)}`;
  if (byTag.status !== 200) throw unavailable(byTag.status, push.tag);
  const current = byTag.headers['docker-content-digest'] ?? (await digestByGet(push.tag));
  if (current !== digest) {
    return `refused: tag ${push.tag} of ${push.repository} points at ${current}, not at the pushed ${digest} (a stale or forged push): not released`;
  }
  return null;
}
