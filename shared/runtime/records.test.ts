// Push and request records carry the `expireAt` timestamp that Firestore's TTL policy deletes them by
// (infra/terraform/modules/switchyard/firestore.tf).
import type { DocumentReference } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';
import { recordExpiry, recordRetentionMs, type Tx } from '../adapters/store.ts';
import { logger } from '../log.ts';
import { runControl } from './control.ts';
import type { Deps } from './deps.ts';
import { runPush } from './push.ts';

const now = Date.UTC(2026, 0, 15, 12, 0, 0);

/** Deps whose store records what is written and knows no targets. */
function recordingDeps() {
  const written: { path: string; data: Record<string, unknown> }[] = [];
  const ref = (path: string) => ({ path }) as unknown as DocumentReference;
  const write = (r: DocumentReference, data: object) => {
    written.push({ path: r.path, data: data as Record<string, unknown> });
  };
  const tx: Tx = {
    get: async () => ({ exists: false }) as never,
    set: write,
    create: write,
    update: write,
  };
  const store = {
    transaction: <T>(fn: (t: Tx) => Promise<T>) => fn(tx),
    put: async (r: DocumentReference, data: object) => write(r, data),
    requestRef: (id: string) => ref(`requests/${id}`),
    pushRef: (id: string, target: string) => ref(`pushes/${id}:${target}`),
    target: async () => null,
    targetsForRepository: async () => [],
  };
  const d = { store, now: () => now, log: logger({}, () => {}) } as unknown as Deps;
  return { d, written };
}

describe('records kept for a while', () => {
  it('expire 30 days after they are made', () => {
    expect(recordRetentionMs).toBe(30 * 24 * 3600 * 1000);
    expect(recordExpiry(now).toISOString()).toBe('2026-02-14T12:00:00.000Z');
  });

  it('a control answer carries expireAt', async () => {
    const { d, written } = recordingDeps();
    const result = await runControl(d, {
      command: 'promote',
      target: 'gone',
      requestedBy: 'someone@example.com',
      requestId: 'req-00001',
    });
    expect(result.outcome).toBe('refused');
    expect(written).toEqual([
      {
        path: 'requests/req-00001',
        data: expect.objectContaining({ receivedAt: now, expireAt: recordExpiry(now) }),
      },
    ]);
  });

  it('a push record carries expireAt', async () => {
    const { d, written } = recordingDeps();
    await runPush(d, 'm-1', { action: 'INSERT', digest: 'not a reference' });
    await runPush(d, 'm-2', {
      action: 'INSERT',
      digest: `us-docker.pkg.dev/p/r/api@sha256:${'a'.repeat(64)}`,
      tag: 'us-docker.pkg.dev/p/r/api:v2',
    });
    expect(written.map((w) => w.path)).toEqual(['pushes/m-1:-', 'pushes/m-2:-']);
    for (const w of written) {
      expect(w.data).toMatchObject({ outcome: 'ignored', receivedAt: now, expireAt: recordExpiry(now) });
    }
  });
});
