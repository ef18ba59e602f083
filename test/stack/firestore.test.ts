// The Firestore emulator behaves as Switchyard's state machine needs: real transactions and preconditions.
import { Timestamp } from '@google-cloud/firestore';
import { afterAll, describe, expect, it } from 'vitest';
import { testFirestore } from '../support/clients.ts';
import { uniqueId } from '../support/stack.ts';

const db = testFirestore(uniqueId('fs'));
afterAll(() => db.terminate());

describe('Firestore emulator', () => {
  it('makes two concurrent read-modify-write transactions conflict, and both increments survive', async () => {
    const ref = db.collection('counters').doc(uniqueId('c'));
    await ref.set({ value: 0 });

    // Both transactions read before either writes, so they cannot both commit on their first try.
    let reads = 0;
    let releaseBarrier!: () => void;
    const barrier = new Promise<void>((resolve) => {
      releaseBarrier = resolve;
    });
    const attempts = [0, 0];
    const increment = (who: 0 | 1) =>
      db.runTransaction(async (tx) => {
        attempts[who] = (attempts[who] ?? 0) + 1;
        const snap = await tx.get(ref);
        if (attempts[who] === 1) {
          reads += 1;
          if (reads === 2) releaseBarrier();
          await barrier;
        }
        tx.update(ref, { value: (snap.get('value') as number) + 1 });
      });

    await Promise.all([increment(0), increment(1)]);

    expect((await ref.get()).get('value')).toBe(2);
    expect(attempts[0]! + attempts[1]!).toBeGreaterThanOrEqual(3);
  });

  it('refuses a write whose lastUpdateTime precondition is stale', async () => {
    const ref = db.collection('releases').doc(uniqueId('r'));
    await ref.set({ phase: 'Pending' });
    const stale = (await ref.get()).updateTime as Timestamp;
    await ref.update({ phase: 'DeployingGreen' });

    await expect(ref.update({ phase: 'Aborted' }, { lastUpdateTime: stale })).rejects.toMatchObject({
      code: 9,
    });
    expect((await ref.get()).get('phase')).toBe('DeployingGreen');

    const fresh = (await ref.get()).updateTime as Timestamp;
    await ref.update({ phase: 'Switching' }, { lastUpdateTime: fresh });
    expect((await ref.get()).get('phase')).toBe('Switching');
  });

  it('refuses create() of a document that exists (ALREADY_EXISTS)', async () => {
    const ref = db.collection('timers').doc(uniqueId('t'));
    await ref.create({ dueAt: Timestamp.now() });
    await expect(ref.create({ dueAt: Timestamp.now() })).rejects.toMatchObject({ code: 6 });
  });
});
