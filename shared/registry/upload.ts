// Pushing an image to a registry over the Docker Registry HTTP API v2, as `docker push` or `crane`
// would: each blob by a monolithic upload (`POST /v2/<name>/blobs/uploads/`, then `PUT <location>
// ?digest=`), skipped when the registry has it, then the manifest (`PUT /v2/<name>/manifests/<tag or
// digest>`). The registry then announces the push itself (the local stack bridges its notification to
// `gcr`). For the local stack's registry (tests, `switchyard push`, the demo): no authentication.
import type { Image } from './image.ts';
import { manifestTypes } from './image.ts';

export class RegistryUploadError extends Error {}

async function expectStatus(r: Response, wanted: number[], what: string): Promise<Response> {
  if (!wanted.includes(r.status)) {
    const body = (await r.text().catch(() => '')).slice(0, 300);
    throw new RegistryUploadError(`${what}: HTTP ${r.status} ${body}`);
  }
  return r;
}

/**
 * Uploads `image` to `baseUrl` (e.g. http://127.0.0.1:5000) as repository `name`, and its manifest
 * under `reference`: a tag, or (the default) the image's digest, which the registry announces as
 * an untagged push.
 */
export async function uploadImage(
  baseUrl: string,
  name: string,
  image: Image,
  reference: string = image.digest,
  signal: AbortSignal = AbortSignal.timeout(30_000),
): Promise<void> {
  const base = `${baseUrl}/v2/${name}`;
  for (const blob of image.blobs) {
    const have = await fetch(`${base}/blobs/${blob.digest}`, { method: 'HEAD', signal });
    if (have.status === 200) continue;
    const started = await expectStatus(
      await fetch(`${base}/blobs/uploads/`, { method: 'POST', signal }),
      [202],
      `starting the upload of ${blob.digest} to ${base}`,
    );
    const location = started.headers.get('location');
    if (!location) throw new RegistryUploadError(`${base} started an upload without a Location`);
    const url = new URL(location, baseUrl);
    url.searchParams.set('digest', blob.digest);
    await expectStatus(
      await fetch(url, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array(blob.bytes),
        signal,
      }),
      [201],
      `uploading ${blob.digest} to ${base}`,
    );
  }
  await expectStatus(
    await fetch(`${base}/manifests/${reference}`, {
      method: 'PUT',
      headers: { 'content-type': image.mediaType },
      body: new Uint8Array(image.manifest),
      signal,
    }),
    [201],
    `putting the manifest ${image.digest} as ${name}:${reference}`,
  );
}

/** The manifest `name@digest` as the registry holds it, or null when it has none. */
export async function readManifest(
  baseUrl: string,
  name: string,
  digest: string,
  signal: AbortSignal = AbortSignal.timeout(30_000),
): Promise<{ mediaType: string; bytes: Buffer } | null> {
  const r = await fetch(`${baseUrl}/v2/${name}/manifests/${digest}`, {
    headers: { accept: manifestTypes.join(', ') },
    signal,
  });
  if (r.status === 404) return null;
  await expectStatus(r, [200], `reading ${name}@${digest}`);
  return {
    mediaType: r.headers.get('content-type') ?? manifestTypes[0],
    bytes: Buffer.from(await r.arrayBuffer()),
  };
}

/** Puts a manifest the registry holds by digest under a tag (or again by digest): a push of it. */
export async function putManifest(
  baseUrl: string,
  name: string,
  manifest: { mediaType: string; bytes: Buffer },
  reference: string,
  signal: AbortSignal = AbortSignal.timeout(30_000),
): Promise<void> {
  await expectStatus(
    await fetch(`${baseUrl}/v2/${name}/manifests/${reference}`, {
      method: 'PUT',
      headers: { 'content-type': manifest.mediaType },
      body: new Uint8Array(manifest.bytes),
      signal,
    }),
    [201],
    `putting the manifest as ${name}:${reference}`,
  );
}
