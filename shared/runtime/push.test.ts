// The push intake's bounds: a notification over the size limit is recorded as ignored, with the
// reason and without its payload (a record that stored it whole could fail and be dead-lettered).
import type { DocumentReference } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';
import type { PushRecord } from '../adapters/store.ts';
import { logger } from '../log.ts';
import type { Deps } from './deps.ts';
import { maxPushBytes, runPush } from './push.ts';

function intakeDeps() {
  const written: { path: string; data: PushRecord }[] = [];
  const lookedUp: string[] = [];
  const store = {
    put: async (r: DocumentReference, data: object) => {
      written.push({ path: r.path, data: data as PushRecord });
    },
    pushRef: (id: string, target: string) =>
      ({ path: `pushes/${id}:${target}` }) as unknown as DocumentReference,
    targetsForRepository: async (repository: string) => {
      lookedUp.push(repository);
      return [];
    },
  };
  const d = { store, now: () => 0, log: logger({}, () => {}) } as unknown as Deps;
  return { d, written, lookedUp };
}

const digest = `us-docker.pkg.dev/acme/apps/api@sha256:${'a'.repeat(64)}`;

describe('push intake', () => {
  it('reads a notification up to the limit', async () => {
    const { d, written, lookedUp } = intakeDeps();
    const message = { action: 'INSERT', digest, padding: '' };
    message.padding = 'x'.repeat(maxPushBytes - JSON.stringify(message).length);
    const [result] = await runPush(d, 'm1', message);
    expect(result?.reason).toMatch(/^no target for repository/);
    expect(lookedUp).toEqual(['us-docker.pkg.dev/acme/apps/api']);
    expect(written[0]?.data.message).toEqual(message);
  });

  it('records one over the limit as ignored, with the reason, keeping only its size and first characters', async () => {
    const { d, written, lookedUp } = intakeDeps();
    const message = { action: 'INSERT', digest, padding: 'x'.repeat(2 * 1024 * 1024) };
    const bytes = JSON.stringify(message).length;
    const results = await runPush(d, 'm2', message);
    expect(results).toEqual([
      {
        target: null,
        outcome: 'ignored',
        reason: `notification of ${bytes} bytes is over the limit of 16384 bytes (an Artifact Registry notification is a few hundred): not read`,
        releaseId: null,
      },
    ]);
    expect(lookedUp).toEqual([]);
    expect(written).toHaveLength(1);
    expect(written[0]?.path).toBe('pushes/m2:-');
    expect(written[0]?.data.message).toEqual({ bytes, head: JSON.stringify(message).slice(0, 200) });
    expect(JSON.stringify(written[0]?.data).length).toBeLessThan(1000);
  });

  it('counts bytes, not characters', async () => {
    const { d, written } = intakeDeps();
    // 6,000 characters of three bytes each: 18,000 bytes.
    const message = { action: 'INSERT', digest, note: '€'.repeat(6000) };
    expect(JSON.stringify(message).length).toBeLessThan(maxPushBytes);
    const [result] = await runPush(d, 'm3', message);
    const bytes = Buffer.byteLength(JSON.stringify(message));
    expect(result?.reason).toMatch(new RegExp(`^notification of ${bytes} bytes is over the limit`));
    expect(written[0]?.data.message).toMatchObject({ bytes: expect.any(Number) });
  });
});
