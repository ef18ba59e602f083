// The pushed image exists (issue 11): a release follows from the registry's own notification of a
// real push to the stack's registry (Debian's docker-registry, bridged to `gcr` in Artifact
// Registry's format), and deploy-green asks the registry before it releases: a notification whose
// digest the registry does not have, or whose tag points at another digest, is refused with the
// reason, and one naming a host that is not Google's registry is refused without contacting it.
// A well-behaved target's release beside them is unaffected.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/process.ts';
import type { PushRecord } from '../../shared/adapters/store.ts';
import { releaseHarness } from '../support/harness.ts';
import { digestOf, type Fixture, releaseFixture } from '../support/release.ts';

const { start } = releaseHarness();

/** The push record of a message for the fixture's target, once written. */
function recordOf(f: Fixture, messageId: string): Promise<PushRecord> {
  return waitFor(
    async () => {
      const snap = await f.store.pushRef(messageId, f.name).get();
      return snap.exists ? (snap.data() as PushRecord) : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `the push record of message ${messageId}` },
  );
}

describe('the pushed image exists', () => {
  it("a real push releases from the registry's own notification; a digest the registry lacks and a stale tag are refused with the reason; the target beside releases", async () => {
    const good = await start('registry-good');
    const f = await releaseFixture('registry-forged');
    try {
      // v2 pushed to the registry: its notification (not one of ours) starts the release.
      const first = await f.push(2);
      const r1 = await f.waitRelease(`${f.name}-1`);
      expect(r1).toMatchObject({ phase: 'Succeeded', image: f.image(2), tag: 'v2' });
      expect(r1.trigger).toMatchObject({ kind: 'push', messageId: first, tag: 'v2' });
      expect(await recordOf(f, first)).toMatchObject({ outcome: 'released', releaseId: r1.id });
      // Tag v2 moves to image 3 (pushed again under v2): released.
      await f.push(3, { tag: 'v2' });
      const r2 = await f.waitRelease(`${f.name}-2`);
      expect(r2).toMatchObject({ phase: 'Succeeded', image: f.image(3), tag: 'v2' });

      const deploymentsBefore = (await f.kube.apps.listNamespacedDeployment({ namespace: f.namespace })).items
        .map((d) => d.metadata?.name)
        .sort();
      // Beside them: a forged notification of an image never pushed, a stale one (v2 at image 2,
      // which v2 no longer is), and a well-behaved target's real push.
      const [forged, stale] = await Promise.all([f.publishPush(4), f.publishPush(2), good.push(2)]);
      expect(await recordOf(f, forged)).toMatchObject({
        outcome: 'ignored',
        releaseId: null,
        reason: `refused: ${f.image(4)} is not in the registry (us-docker.pkg.dev has no manifest ${digestOf(4)}): a forged or deleted push is not released`,
      });
      expect(await recordOf(f, stale)).toMatchObject({
        outcome: 'ignored',
        releaseId: null,
        reason: `refused: tag v2 of ${f.repository} points at ${digestOf(3)}, not at the pushed ${digestOf(2)} (a stale or forged push): not released`,
      });
      const released = await good.waitRelease(`${good.name}-1`);
      expect(released).toMatchObject({ phase: 'Succeeded', image: good.image(2) });

      // Nothing was released or created for the refused ones; the cluster keeps serving image 3.
      const w = await f.workload();
      expect(w.releases).toBe(2);
      expect(w.stable?.image).toBe(f.image(3));
      const deploymentsAfter = (await f.kube.apps.listNamespacedDeployment({ namespace: f.namespace })).items
        .map((d) => d.metadata?.name)
        .sort();
      expect(deploymentsAfter).toEqual(deploymentsBefore);
    } finally {
      await f.close();
    }
  });

  it('a notification naming a host that is not Google registry is refused without contacting it', async () => {
    // The "registry" a forged notification names: a server that counts what reaches it.
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      res.writeHead(200, { 'docker-content-digest': digestOf(2) }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const f = await start('registry-host', { repository: `127.0.0.1:${port}/acme/evil/api` });
    try {
      const messageId = await f.publishPush(2);
      expect(await recordOf(f, messageId)).toMatchObject({
        outcome: 'ignored',
        reason: `refused: 127.0.0.1:${port}/acme/evil/api: not an Artifact Registry image (its host 127.0.0.1:${port} is not <location>-docker.pkg.dev or gcr.io), so the registry is not asked and nothing is released`,
      });
      expect((await f.workload()).releases).toBe(0);
      expect(seen).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
