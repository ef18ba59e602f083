// Issue 11, the apply half: ReleaseTargets are stored by the control function, never by the people
// who apply them. An apply is a control message on Pub/Sub carrying the documents and the caller's
// ID token; the real control function verifies the token, validates the documents again, decides
// per document from the target AS STORED (its spec.access and the access policy's rules by label),
// stores all or nothing, and answers under the request id. Tried as a hostile operator would: a
// takeover by rewriting another team's access, a forged or unsigned sender, a redelivered apply.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/process.ts';
import type { RequestRecord } from '../../shared/adapters/store.ts';
import { TargetStore } from '../../shared/target/store.ts';
import { topology } from '../../shared/topology.ts';
import { teamLabel, teamMembers, teams } from '../support/access-policy.ts';
import { testFirestore, testPubSub } from '../support/clients.ts';
import {
  audienceOf,
  forgedToken,
  issuedToken,
  publishedKid,
  testUser,
  unsignedToken,
} from '../support/identity.ts';
import { type Fixture, releaseFixture, stackContext } from '../support/release.ts';
import { stack, uniqueId } from '../support/stack.ts';

const db = testFirestore(stack().projectId);
const targets = new TargetStore(db);
const pubsub = testPubSub();
afterAll(async () => {
  await pubsub.close();
  await db.terminate();
});

type Doc = Record<string, unknown> & { metadata: { name: string; labels?: Record<string, string> } };

/** A valid target document as a user writes it; no workload behind it (nothing is released). */
function targetDoc(name: string, extra: { labels?: Record<string, string>; access?: unknown[] } = {}): Doc {
  return {
    apiVersion: 'switchyard.dev/v1alpha1',
    kind: 'ReleaseTarget',
    metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: {
      image: { repository: `us-docker.pkg.dev/acme/${name}/api` },
      cluster: { context: stackContext() },
      namespace: 'apply-access',
      workload: 'api',
      strategy: { blueGreen: { activeService: 'api' } },
      ...(extra.access ? { access: extra.access } : {}),
    },
  };
}

/** The stored target `f` as a document to apply again, with `labels`. */
async function storedDoc(f: Fixture, labels: Record<string, string>): Promise<Doc> {
  const stored = (await targets.get(f.name))!;
  return { ...stored.target, metadata: { ...stored.target.metadata, labels } };
}

/**
 * Publishes an apply of `documents` on the control topic, signed by the stack's issuer as `as`
 * (default: test@switchyard, an operator), or with `idToken` (null: none); returns the request id.
 */
async function apply(
  documents: unknown[],
  opts: { as?: string; idToken?: string | null; requestId?: string } = {},
): Promise<string> {
  const requestId = opts.requestId ?? `req-${uniqueId('apply')}`;
  const idToken =
    opts.idToken === undefined
      ? await issuedToken(stack().issuerUrl, opts.as ?? testUser, audienceOf(stack().projectId))
      : opts.idToken;
  await pubsub.topic(topology().controlTopic).publishMessage({
    json: {
      command: 'apply',
      documents,
      requestedBy: opts.as ?? testUser,
      requestId,
      ...(idToken === null ? {} : { idToken }),
    },
  });
  return requestId;
}

function answer(requestId: string, timeoutMs = 60_000): Promise<RequestRecord> {
  return waitFor(
    async () => {
      const snap = await db.collection('requests').doc(requestId).get();
      return snap.exists ? (snap.data() as RequestRecord) : undefined;
    },
    { timeoutMs, what: `the answer to apply ${requestId}` },
  );
}

const alice = 'alice@team-a.example';
const mallory = 'mallory@team-b.example';

describe('apply goes through the control function', () => {
  it("an operator creates a target; a stranger's rewrite of its access is refused and changes nothing; its owner changes it", async () => {
    const name = uniqueId('apx').slice(0, 40);
    const own = [{ members: [alice], commands: ['apply', 'promote'] }];
    const created = await answer(await apply([targetDoc(name, { access: own })]));
    expect(created).toMatchObject({
      outcome: 'applied',
      command: 'apply',
      requestedBy: testUser,
      reason: null,
      documents: [{ kind: 'ReleaseTarget', name, result: 'created', generation: 1 }],
    });
    const before = (await targets.get(name))!;
    expect(before).toMatchObject({ generation: 1, appliedBy: testUser });

    // Mallory rewrites the target's access to name herself: what decides is the access as stored.
    const takeover = targetDoc(name, { access: [{ members: [mallory], commands: ['apply', 'promote'] }] });
    const refused = await answer(await apply([takeover], { as: mallory }));
    const why = `apply: ${mallory} may not apply target ${name}: no rule of spec.access grants them apply`;
    expect(refused).toMatchObject({
      outcome: 'refused',
      code: 'forbidden',
      requestedBy: mallory,
      reason: `documents[0]: ${why}; nothing was applied`,
      errors: [{ document: 0, path: 'documents[0]', message: why }],
    });
    expect(refused.documents).toBeUndefined();
    // Nor does an operator: the target's own rules leave the operators out.
    expect(await answer(await apply([takeover]))).toMatchObject({
      outcome: 'refused',
      reason: expect.stringContaining(`${testUser} may not apply target ${name}`),
    });
    // In a file with a target she may create, the refusal stops the whole file.
    const hers = uniqueId('apx-m').slice(0, 40);
    const mixed = await answer(await apply([targetDoc(hers), takeover], { as: mallory }));
    expect(mixed).toMatchObject({ outcome: 'refused' });
    expect(mixed.errors!.map((e) => e.path)).toEqual(['documents[0]', 'documents[1]']);
    expect(mixed.errors![0]!.message).toMatch(/may not create target .*only the installation's operators/);
    expect(await targets.get(hers)).toBeNull();

    const after = (await targets.get(name))!;
    expect(after.generation).toBe(1);
    expect(after.appliedBy).toBe(testUser);
    expect(after.appliedAt).toEqual(before.appliedAt);
    expect(after.target.spec.access).toEqual(own);

    // Alice, whom the stored access grants apply, changes it: stored as her, a new generation.
    const changed = targetDoc(name, { access: own });
    (changed.spec as { progressDeadlineSeconds?: number }).progressDeadlineSeconds = 300;
    const requestId = `req-${uniqueId('apply-alice')}`;
    expect(await answer(await apply([changed], { as: alice, requestId }))).toMatchObject({
      outcome: 'applied',
      requestedBy: alice,
      documents: [{ kind: 'ReleaseTarget', name, result: 'configured', generation: 2 }],
    });
    expect(await targets.get(name)).toMatchObject({ generation: 2, appliedBy: alice });

    // A redelivery of that message (same request id) after a later change is answered from the
    // record and applies nothing: the later change stays.
    const later = targetDoc(name, { access: own });
    (later.spec as { progressDeadlineSeconds?: number }).progressDeadlineSeconds = 400;
    expect(await answer(await apply([later], { as: alice }))).toMatchObject({
      outcome: 'applied',
      documents: [{ result: 'configured', generation: 3 }],
    });
    await apply([changed], { as: alice, requestId });
    const log = join(stack().stateDir, 'logs', 'function-control.log');
    await waitFor(
      () =>
        existsSync(log) &&
        readFileSync(log, 'utf8')
          .split('\n')
          .some((l) => l.includes(requestId) && l.includes('apply already answered')),
      { timeoutMs: 60_000, what: `the control function to see the redelivery of ${requestId}` },
    );
    expect(await answer(requestId)).toMatchObject({ documents: [{ result: 'configured', generation: 2 }] });
    const last = (await targets.get(name))!;
    expect(last.generation).toBe(3);
    expect(last.target.spec.progressDeadlineSeconds).toBe(400);
    await db.collection('targets').doc(name).delete();
  });

  it('a forged, unsigned or missing token is refused and recorded; nothing is stored', async () => {
    const { issuerUrl, projectId } = stack();
    const audience = audienceOf(projectId);
    const name = uniqueId('apx-forged').slice(0, 40);
    const attacks: [string, string | null, RegExp][] = [
      [
        'forged',
        await forgedToken(issuerUrl, testUser, audience, await publishedKid(issuerUrl)),
        /^apply: ID token refused: its signature does not verify against the keys of /,
      ],
      [
        'unsigned',
        unsignedToken(issuerUrl, testUser, audience),
        /^apply: ID token refused: unsigned \(alg none\)$/,
      ],
      ['no token', null, /^apply: not signed in: the message carries no ID token/],
    ];
    const sent = await Promise.all(
      attacks.map(async ([what, idToken, reason]) => ({
        what,
        reason,
        id: await apply([targetDoc(name)], { idToken }),
      })),
    );
    for (const { what, reason, id } of sent) {
      const got = await answer(id);
      expect(got, what).toMatchObject({
        outcome: 'refused',
        command: 'apply',
        requestedBy: null,
        claimedBy: testUser,
      });
      expect(got.reason, what).toMatch(reason);
    }
    expect(await targets.get(name)).toBeNull();
  });

  it('the function validates the documents again: an invalid one, sent without the CLI, is refused with its path', async () => {
    const name = uniqueId('apx-bad').slice(0, 40);
    const bad = targetDoc(name);
    (bad.spec as { namespace: string }).namespace = 'Not A Namespace';
    const got = await answer(await apply([targetDoc(`${name}-ok`), bad, { kind: 'Secret' }]));
    expect(got).toMatchObject({ outcome: 'refused', requestedBy: testUser });
    expect(got.errors!.map((e) => e.path)).toEqual(['documents[1].spec.namespace', 'documents[2].kind']);
    expect(got.reason).toMatch(/^apply: 2 problems in the documents; nothing was applied: /);
    expect(await targets.get(`${name}-ok`)).toBeNull();
  });
});

describe('the installation access policy, by label', () => {
  it('grants a team member promote (and apply) on the targets labelled for the team, and not on another', async () => {
    const f = await releaseFixture('apol-a', { blueGreen: { autoPromotionEnabled: false } });
    const g = await releaseFixture('apol-b', { blueGreen: { autoPromotionEnabled: false } });
    const created: string[] = [];
    try {
      // The operator labels the two targets for the two teams, through apply.
      const labelled = await answer(
        await apply([
          await storedDoc(f, { [teamLabel]: teams.a }),
          await storedDoc(g, { [teamLabel]: teams.b }),
        ]),
      );
      expect(labelled).toMatchObject({
        outcome: 'applied',
        documents: [
          { name: f.name, result: 'configured', generation: 1 },
          { name: g.name, result: 'configured', generation: 1 },
        ],
      });
      await Promise.all([f.push(2), g.push(2)]);
      const ours = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
      const theirs = await g.waitRelease(`${g.name}-1`, (r) => r.phase === 'AwaitingPromotion');

      const member = teamMembers.a;
      expect(await g.answer(await g.control('promote', { as: member }))).toMatchObject({
        outcome: 'refused',
        requestedBy: member,
        reason: `promote: ${member} may not promote target ${g.name}: no rule of the access policy grants them promote`,
        releaseId: theirs.id,
      });
      // The installation's operators are not the default on a target a rule applies to.
      expect(await f.answer(await f.control('promote'))).toMatchObject({
        outcome: 'refused',
        reason: `promote: ${testUser} may not promote target ${f.name}: no rule of the access policy grants them promote`,
      });
      expect(await f.answer(await f.control('promote', { as: member }))).toMatchObject({
        outcome: 'applied',
        requestedBy: member,
        releaseId: ours.id,
      });
      expect((await f.waitRelease(ours.id)).phase).toBe('Succeeded');
      expect((await g.release(theirs.id))!.phase).toBe('AwaitingPromotion');
      expect(await g.answer(await g.control('promote', { as: teamMembers.b }))).toMatchObject({
        outcome: 'applied',
      });
      expect((await g.waitRelease(theirs.id)).phase).toBe('Succeeded');

      // The policy grants team a apply: a member creates a target labelled for the team, not one
      // labelled for team b, and changes the team's target but not team b's.
      const mine = uniqueId('apol-new').slice(0, 40);
      const other = uniqueId('apol-other').slice(0, 40);
      created.push(mine, other);
      expect(
        await answer(await apply([targetDoc(mine, { labels: { [teamLabel]: teams.a } })], { as: member })),
      ).toMatchObject({
        outcome: 'applied',
        requestedBy: member,
        documents: [{ name: mine, result: 'created' }],
      });
      const refused = await answer(
        await apply([targetDoc(other, { labels: { [teamLabel]: teams.b } })], { as: member }),
      );
      expect(refused).toMatchObject({
        outcome: 'refused',
        reason: expect.stringMatching(
          new RegExp(`^documents\\[0\\]: apply: ${member} may not create target ${other}`),
        ),
      });
      const relabel = await storedDoc(g, { [teamLabel]: teams.a });
      expect(await answer(await apply([relabel], { as: member }))).toMatchObject({
        outcome: 'refused',
        reason: expect.stringContaining(
          `${member} may not apply target ${g.name}: no rule of the access policy grants them apply`,
        ),
      });
      expect((await targets.get(g.name))!.target.metadata.labels).toEqual({ [teamLabel]: teams.b });
      expect(await targets.get(other)).toBeNull();
    } finally {
      for (const name of created) await db.collection('targets').doc(name).delete();
      await Promise.all([f.close(), g.close()]);
    }
  });
});
