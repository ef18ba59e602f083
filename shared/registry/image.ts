// Small deterministic images for the local stack's registry (tests, `switchyard push` and the demo):
// a real OCI image manifest whose digest is the sha256 of its bytes, as a registry computes it, so
// the digest a test expects is the one the registry answers for. Pure (node:crypto only).
import { createHash } from 'node:crypto';

export const ociManifestType = 'application/vnd.oci.image.manifest.v1+json';
const ociConfigType = 'application/vnd.oci.image.config.v1+json';
const ociLayerType = 'application/vnd.oci.image.layer.v1.tar';

/** Every manifest type a registry may hold for an image, for the Accept header of a manifest request. */
export const manifestTypes = [
  ociManifestType,
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
] as const;

export interface Blob {
  digest: string;
  bytes: Buffer;
}

export interface Image {
  /** `sha256:<64 hex>` of the manifest bytes: the image's digest. */
  digest: string;
  manifest: Buffer;
  mediaType: string;
  /** The blobs the manifest names (a config and one layer), uploaded before it. */
  blobs: Blob[];
}

export function sha256Digest(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** An empty tar archive (two zero blocks): the one layer every sample image shares. */
const emptyTar = Buffer.alloc(1024);

const sampleCache = new Map<string, Image>();

/**
 * The sample image for `seed` (a release number in tests, a version in the demo): always the same
 * bytes, so the same digest, for the same seed; a different image for every seed.
 */
export function sampleImage(seed: number | string): Image {
  const key = String(seed);
  let image = sampleCache.get(key);
  if (!image) {
    image = buildSample(key);
    sampleCache.set(key, image);
  }
  return image;
}

/**
 * The digest prefix of images whose pods the local cluster never makes ready (kwok stage
 * never-ready-image; neverReadyDigestPrefix in infra/local/components/kubernetes.ts). A sample whose
 * seed starts with `bad0` gets a digest with this prefix: its manifest carries the first nonce that
 * makes it so (some 65,000 hashes, once per process).
 */
export const neverReadyPrefix = 'sha256:bad0';

const layer: Blob = { digest: sha256Digest(emptyTar), bytes: emptyTar };

/** Where the search for a never-ready seed's nonce starts: its first nonce that works, found before. */
const knownNonces: Record<string, number> = { bad0: 102569 };

function buildSample(key: string): Image {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { 'dev.switchyard.sample': key } },
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
    }),
  );
  const configBlob: Blob = { digest: sha256Digest(config), bytes: config };
  const fields = {
    schemaVersion: 2,
    mediaType: ociManifestType,
    config: { mediaType: ociConfigType, digest: configBlob.digest, size: config.length },
    layers: [{ mediaType: ociLayerType, digest: layer.digest, size: emptyTar.length }],
  };
  const image = (manifest: Buffer): Image => ({
    digest: sha256Digest(manifest),
    manifest,
    mediaType: ociManifestType,
    blobs: [configBlob, layer],
  });
  if (!key.startsWith('bad0')) return image(Buffer.from(JSON.stringify(fields)));
  // The manifest's JSON with a nonce annotation last: only the nonce's digits change per try.
  const head = JSON.stringify({ ...fields, annotations: { 'dev.switchyard.nonce': '' } }).slice(0, -3);
  const wanted = neverReadyPrefix.slice('sha256:'.length);
  for (let nonce = knownNonces[key] ?? 0; ; nonce++) {
    const text = `${head}${nonce}"}}`;
    if (createHash('sha256').update(text).digest('hex').startsWith(wanted)) return image(Buffer.from(text));
  }
}

/** Seeds `sampleFor` looks through: the numbers tests and the demo push (0 … 9999). */
export const sampleSeeds = 10_000;

/** The sample seed whose image has this digest (numbers below sampleSeeds), or null. */
export function sampleFor(digest: string): Image | null {
  for (let n = 0; n < sampleSeeds; n++) {
    const image = buildSample(String(n));
    if (image.digest === digest) return image;
  }
  return null;
}
