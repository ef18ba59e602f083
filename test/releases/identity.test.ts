// Issue 11, tried as a hostile operator would: control messages whose sender is not who it says
// (a token signed by another key, expired, for another installation, unsigned, none at all) and a
// verified identity acting on another team's target. Each is refused with a recorded reason and
// changes nothing, while a well-behaved command on the target next to it is applied.
import { describe, expect, it } from 'vitest';
import { releaseHarness } from '../support/harness.ts';
import {
  audienceOf,
  forgedToken,
  issuedToken,
  publishedKid,
  testUser,
  unsignedToken,
} from '../support/identity.ts';
import { type Fixture, releaseFixture } from '../support/release.ts';
import { stack } from '../support/stack.ts';

const { start } = releaseHarness();
const revisionLabel = 'switchyard.dev/revision';

/** A neighbour target (no invariant checker of its own), closed by the caller. */
async function neighbour(prefix: string, access?: unknown[]): Promise<Fixture> {
  return releaseFixture(prefix, {
    blueGreen: { autoPromotionEnabled: false },
    ...(access ? { access } : {}),
  });
}

describe('who asked is verified', () => {
  it('a forged, expired, wrong-audience, unsigned or missing token is refused and recorded; the neighbour is promoted', async () => {
    const f = await start('id-tok', { blueGreen: { autoPromotionEnabled: false } });
    const g = await neighbour('id-tok-ok');
    try {
      await Promise.all([f.push(2), g.push(2)]);
      const waiting = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
      const next = await g.waitRelease(`${g.name}-1`, (r) => r.phase === 'AwaitingPromotion');
      const { issuerUrl, projectId } = stack();
      const audience = audienceOf(projectId);
      // Every attack claims to be an operator of the installation.
      const attacks: [string, string | null, RegExp][] = [
        [
          'forged (another key, the issuer key id)',
          await forgedToken(issuerUrl, testUser, audience, await publishedKid(issuerUrl)),
          /^promote: ID token refused: its signature does not verify against the keys of http:\/\/127\.0\.0\.1:\d+$/,
        ],
        [
          'forged (another key, its own key id)',
          await forgedToken(issuerUrl, testUser, audience),
          /^promote: ID token refused: signed with a key http:\/\/127\.0\.0\.1:\d+ does not publish$/,
        ],
        [
          'expired',
          await issuedToken(issuerUrl, testUser, audience, -600),
          /^promote: ID token refused: expired at \d{4}-\d\d-\d\dT/,
        ],
        [
          'wrong audience',
          await issuedToken(
            issuerUrl,
            testUser,
            'https://switchyard.dev/projects/other/installations/switchyard',
          ),
          /^promote: ID token refused: its audience is "https:\/\/switchyard.dev\/projects\/other\/installations\/switchyard", not this installation's/,
        ],
        [
          'unsigned',
          unsignedToken(issuerUrl, testUser, audience),
          /^promote: ID token refused: unsigned \(alg none\)$/,
        ],
        ['no token', null, /^promote: not signed in: the message carries no ID token/],
      ];
      const sent = await Promise.all(
        attacks.map(async ([what, idToken, reason]) => ({
          what,
          reason,
          id: await f.control('promote', { idToken }),
        })),
      );
      // The well-behaved command on the target next door, sent while the attacks are in flight.
      const good = await g.control('promote', { reason: 'looks good' });
      for (const { what, reason, id } of sent) {
        const answer = await f.answer(id);
        expect(answer, what).toMatchObject({
          outcome: 'refused',
          code: 'unauthenticated',
          requestedBy: null,
          claimedBy: testUser,
          command: 'promote',
          target: f.name,
          releaseId: null,
        });
        expect(answer.reason, what).toMatch(reason);
      }
      expect(await g.answer(good)).toMatchObject({
        outcome: 'applied',
        releaseId: next.id,
        requestedBy: testUser,
      });
      expect((await g.waitRelease(next.id)).phase).toBe('Succeeded');

      // Nothing of the attacked release changed, and no unverified sender wrote into its history.
      const still = (await f.release(waiting.id))!;
      expect(still.phase).toBe('AwaitingPromotion');
      expect(still.seq).toBe(waiting.seq);
      expect(still.history.filter((h) => h.cause === 'promote')).toEqual([]);
      expect((await f.selector('api'))[revisionLabel]).toBe(waiting.stable!.revision);
      // The same promote with a good token is applied, recorded under the verified email.
      expect(await f.answer(await f.control('promote'))).toMatchObject({
        outcome: 'applied',
        requestedBy: testUser,
      });
      const done = await f.waitRelease(waiting.id);
      expect(done.phase).toBe('Succeeded');
      expect(done.history.find((h) => h.cause === 'promote')).toMatchObject({ by: testUser });
    } finally {
      await g.close();
    }
  });

  it('the claimed requestedBy is not who asked: the token says', async () => {
    const f = await start('id-claim', { blueGreen: { autoPromotionEnabled: false } });
    await f.push(2);
    const waiting = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    const { issuerUrl, projectId } = stack();
    // Signed as a local operator, claiming to be someone else: recorded as the signer.
    const idToken = await issuedToken(issuerUrl, 'dana@switchyard.local', audienceOf(projectId));
    const id = await f.control('pause', { idToken, as: 'ceo@acme.example' });
    expect(await f.answer(id)).toMatchObject({ outcome: 'applied', requestedBy: 'dana@switchyard.local' });
    const paused = await f.waitRelease(waiting.id, (r) => r.paused);
    expect(paused.history.at(-1)).toMatchObject({ cause: 'pause', by: 'dana@switchyard.local' });
  });
});

describe('who may do what, per target', () => {
  it("another team's target: refused naming who and what, in the answer and the release history; their own target is promoted", async () => {
    const alice = 'alice@team-a.example';
    const mallory = 'mallory@team-b.example';
    const f = await start('acc-a', {
      blueGreen: { autoPromotionEnabled: false },
      access: [{ members: [alice], commands: ['promote', 'abort'] }],
    });
    const g = await neighbour('acc-b', [
      { members: [mallory, 'domain:team-b.example'], commands: ['promote'] },
    ]);
    try {
      await Promise.all([f.push(2), g.push(2)]);
      const waiting = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
      const theirs = await g.waitRelease(`${g.name}-1`, (r) => r.phase === 'AwaitingPromotion');

      const refusals: [string, 'promote' | 'abort' | 'undo', string][] = [
        [
          mallory,
          'promote',
          `promote: ${mallory} may not promote target ${f.name}: no rule of spec.access grants them promote`,
        ],
        [
          mallory,
          'abort',
          `abort: ${mallory} may not abort target ${f.name}: no rule of spec.access grants them abort`,
        ],
        // An operator of the installation has no say over a target whose access does not name it.
        [
          testUser,
          'promote',
          `promote: ${testUser} may not promote target ${f.name}: no rule of spec.access grants them promote`,
        ],
        [
          alice,
          'undo',
          `undo: ${alice} may not undo target ${f.name}: no rule of spec.access grants them undo`,
        ],
      ];
      for (const [who, command, reason] of refusals) {
        const answer = await f.answer(await f.control(command, { as: who }));
        expect(answer).toMatchObject({
          outcome: 'refused',
          code: 'forbidden',
          requestedBy: who,
          reason,
          releaseId: waiting.id,
        });
      }
      // Mallory's own target, next door: her promote is applied.
      expect(await g.answer(await g.control('promote', { as: mallory }))).toMatchObject({
        outcome: 'applied',
        requestedBy: mallory,
      });
      expect((await g.waitRelease(theirs.id)).phase).toBe('Succeeded');

      const still = (await f.release(waiting.id))!;
      expect(still.phase).toBe('AwaitingPromotion');
      expect((await f.selector('api'))[revisionLabel]).toBe(waiting.stable!.revision);
      // Recorded like any refusal: in the release's history, by the verified identity.
      expect(
        still.history.filter((h) => h.reason?.startsWith('refused:')).map((h) => [h.cause, h.by, h.reason]),
      ).toEqual(refusals.map(([who, command, reason]) => [command, who, `refused: ${reason}`]));
      expect(await f.answer(await f.control('promote', { as: alice }))).toMatchObject({
        outcome: 'applied',
        requestedBy: alice,
      });
      expect((await f.waitRelease(waiting.id)).phase).toBe('Succeeded');
    } finally {
      await g.close();
    }
  });

  it("without spec.access only the installation's operators may: a stranger is refused", async () => {
    const f = await start('acc-ops', { blueGreen: { autoPromotionEnabled: false } });
    await f.push(2);
    const waiting = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    const stranger = 'eve@elsewhere.example';
    expect(await f.answer(await f.control('abort', { as: stranger }))).toMatchObject({
      outcome: 'refused',
      requestedBy: stranger,
      reason: `abort: ${stranger} may not abort target ${f.name}: the target has no spec.access and they are not one of the installation's operators`,
    });
    // domain:switchyard.local is an operator of the local installations.
    expect(await f.answer(await f.control('abort', { as: 'ops@switchyard.local' }))).toMatchObject({
      outcome: 'applied',
      requestedBy: 'ops@switchyard.local',
    });
    expect((await f.waitRelease(waiting.id)).phase).toBe('Aborted');
  });
});
