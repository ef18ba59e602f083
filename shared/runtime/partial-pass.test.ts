// A pass whose commands changed the cluster and then failed part-way commits nothing else, but the
// release's history names the commands that did run: the switch that happened before the API server
// went away stays in the record, though the pass delivered again finds it done and runs it no more.
import type { DocumentReference } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';
import type { Tx } from '../adapters/store.ts';
import { blueGreenTarget, pushedRelease } from '../engine/model/fixtures.ts';
import { emptyWorkload, type Release } from '../engine/release.ts';
import { logger } from '../log.ts';
import { ranBefore, withRan } from './attempts.ts';
import type { Deps } from './deps.ts';
import { commandFailed } from './failure.ts';
import { unclaim } from './lease.ts';

const now = Date.UTC(2026, 0, 15, 12, 0, 0);
const target = blueGreenTarget();
const stable = { revision: 'aaaaaaaaaa', deployment: 'api-aaaaaaaaaa', image: 'app@sha256:1' };
const candidate = { revision: 'bbbbbbbbbb', deployment: 'api-bbbbbbbbbb', image: 'app@sha256:2' };

function switching(): Release {
  return {
    ...pushedRelease('app@sha256:2', now - 1000),
    phase: 'Switching',
    stable,
    candidate,
    seq: 7,
    lease: { owner: 'step-1', until: now + 60_000 },
  };
}

/** Deps whose store holds one release and records the updates made to it. */
function storeWith(release: Release) {
  const updates: Record<string, unknown>[] = [];
  const tx = {
    update: (_: DocumentReference, data: object) => updates.push(data as Record<string, unknown>),
  } as unknown as Tx;
  const store = {
    transaction: <T>(fn: (t: Tx) => Promise<T>) => fn(tx),
    release: async () => release,
    releaseRef: (id: string) => ({ path: `releases/${id}` }) as unknown as DocumentReference,
  };
  const d = { store, now: () => now, log: logger({}, () => {}) } as unknown as Deps;
  return { d, updates };
}

const unavailable = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { kind: 'unavailable' });
const refusedByKubernetes = () =>
  Object.assign(new Error('admission webhook denied the request'), { kind: 'invalid' });

describe('a pass that failed after some of its commands ran', () => {
  it('a retriable failure is thrown again carrying what ran, and giving the claim back records it', async () => {
    const release = switching();
    const ran = ['SelectRevision api -> bbbbbbbbbb'];
    const { d, updates } = storeWith(release);
    let thrown: unknown;
    try {
      commandFailed(d, target, release, emptyWorkload('api'), withRan(unavailable(), ran));
    } catch (err) {
      thrown = err;
    }
    expect(ranBefore(thrown)).toEqual(ran);
    await unclaim(d, release, thrown);
    expect(updates).toHaveLength(1);
    const update = updates[0] as { lease: null; attempts: { count: number }; history: Release['history'] };
    expect(update.lease).toBeNull();
    expect(update.attempts.count).toBe(1);
    // Appended, not replacing: and the seq stays, so the step delivered again is still the current one.
    expect(update.history.slice(0, -1)).toEqual(release.history);
    expect(update.history.at(-1)).toMatchObject({ from: 'Switching', to: 'Switching', commands: ran });
    expect(update).not.toHaveProperty('seq');
  });

  it('a failure that ends the pass (rolled back) records what ran in the transition it commits', () => {
    const release = switching();
    const ran = ['SelectRevision api -> bbbbbbbbbb'];
    const { d } = storeWith(release);
    const out = commandFailed(d, target, release, emptyWorkload('api'), withRan(refusedByKubernetes(), ran));
    expect(out.release.phase).toBe('RollingBack');
    expect(out.release.history.at(-1)).toMatchObject({ from: 'Switching', to: 'RollingBack', commands: ran });
  });

  it('a pass that ran nothing before it failed adds no history entry when it gives the claim back', async () => {
    const release = switching();
    const { d, updates } = storeWith(release);
    await unclaim(d, release, withRan(unavailable(), []));
    expect(updates[0]).not.toHaveProperty('history');
  });
});
