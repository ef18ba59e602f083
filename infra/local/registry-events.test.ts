// The bridge's mapping from the registry's webhook envelope to Artifact Registry's `gcr` messages.
import { describe, expect, it } from 'vitest';
import { neverReadyPrefix, sampleImage } from '../../shared/registry/image.ts';
import { neverReadyDigestPrefix } from './components/kubernetes.ts';
import { gcrMessagesOf } from './registry-events.ts';

const digest = `sha256:${'a'.repeat(64)}`;
const event = (target: Record<string, unknown>, action = 'push') => ({
  action,
  target: {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest,
    repository: 'acme/apps/api',
    ...target,
  },
  request: { host: '127.0.0.1:5000' },
});

describe('registry events as gcr messages', () => {
  it('a manifest pushed by tag and one by digest, under the mapped host, as Artifact Registry words them', () => {
    expect(gcrMessagesOf({ events: [event({ tag: 'v2' }), event({})] }, 'us-docker.pkg.dev')).toEqual([
      {
        action: 'INSERT',
        digest: `us-docker.pkg.dev/acme/apps/api@${digest}`,
        tag: 'us-docker.pkg.dev/acme/apps/api:v2',
      },
      { action: 'INSERT', digest: `us-docker.pkg.dev/acme/apps/api@${digest}` },
    ]);
  });

  it('leaves out blob pushes, pulls, deletes and what it cannot read', () => {
    expect(
      gcrMessagesOf(
        {
          events: [
            event({ mediaType: 'application/octet-stream' }),
            event({}, 'pull'),
            event({}, 'delete'),
            event({ digest: 'sha256:short' }),
            null,
          ],
        },
        'us-docker.pkg.dev',
      ),
    ).toEqual([]);
    expect(gcrMessagesOf('not an envelope', 'us-docker.pkg.dev')).toEqual([]);
  });
});

describe('sample images for the never-ready stage', () => {
  it("the `bad0` samples have a digest the cluster's never-ready stage selects", () => {
    expect(neverReadyPrefix).toBe(neverReadyDigestPrefix);
    expect(sampleImage('bad0').digest.startsWith(neverReadyDigestPrefix)).toBe(true);
    expect(sampleImage('bad01').digest).not.toBe(sampleImage('bad0').digest);
    expect(sampleImage(2).digest.startsWith(neverReadyDigestPrefix)).toBe(false);
  });
});
