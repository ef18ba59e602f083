// A control message (promote, abort, …) applied to its release in one transaction, with the answer
// recorded under its request id: a redelivered command is answered again, not applied twice.
// Who sent it is the verified email of its ID token, and the target's spec.access and the
// installation's access policy (else the installation's operators) say whether they may
// (shared/identity/). `apply` (switchyard apply -f) comes the same way: see apply.ts.
import { marked, type RequestRecord, recordExpiry, type Tx, toEngineTarget } from '../adapters/store.ts';
import type { ControlOutcome } from '../engine/control.ts';
import { decide } from '../engine/decide.ts';
import type { Release, Workload } from '../engine/release.ts';
import type { EngineTarget } from '../engine/target.ts';
import { authorize, type Identity } from '../identity/access.ts';
import { type ControlMessage, controlMessage, describeIssues } from '../messages.ts';
import { type ControlResult, refuseUnverified } from './answers.ts';
import { isApply, runApply } from './apply.ts';
import { type Claimed, claimed as isClaimed, outsideClaims } from './claims.ts';
import type { Deps } from './deps.ts';
import { announce } from './events.ts';
import { noteRelease } from './metrics.ts';
import { installationOf, labelsOf } from './stored-access.ts';
import { dispatchWake, planWake } from './wake.ts';

export type { ControlResult } from './answers.ts';

export async function runControl(d: Deps, data: unknown): Promise<ControlResult> {
  if (isApply(data)) return runApply(d, data);
  const parsed = controlMessage.safeParse(data);
  if (!parsed.success) {
    // Answered under its request id when it has a valid one (the CLI waits for that answer);
    // otherwise only logged. Retrying cannot help either way.
    const reason = `malformed control message: ${describeIssues(parsed.error)}`;
    d.log.warn(reason, { message: withoutToken(data) });
    return refuseUnverified(d, data, 'malformed', reason);
  }
  const { idToken, requestedBy: claimed, ...fields } = parsed.data;
  const verified = idToken
    ? await d.identity.verify(idToken)
    : ({
        ok: false,
        reason:
          'not signed in: the message carries no ID token (idToken); `switchyard` sends one from Application Default Credentials',
      } as const);
  if (!verified.ok) {
    d.log.warn(`${fields.command} refused: ${verified.reason}`, {
      target: fields.target,
      requestId: fields.requestId,
      claimedBy: claimed,
    });
    return refuseUnverified(d, data, 'unauthenticated', `${fields.command}: ${verified.reason}`);
  }
  const identity = verified.identity;
  const msg: ControlMessage = { ...fields, requestedBy: identity.email };
  const log = d.log.with({ target: msg.target, requestId: msg.requestId, command: msg.command });
  const after: After = { toWake: [], toAnnounce: [] };
  // A control command never overtakes a running step (claims.ts).
  const answer = await outsideClaims(d, msg.command, () => applyCommand(d, msg, identity, after));
  log.info(`${msg.command} ${answer.outcome}${answer.reason ? `: ${answer.reason}` : ''}`, {
    releaseId: answer.releaseId ?? undefined,
  });
  noteRelease(answer.releaseId);
  await Promise.all([...after.toAnnounce, ...after.toWake].map((r) => announce(d, r)));
  await Promise.all(after.toWake.map((r) => dispatchWake(d, r)));
  return answer;
}

/** The releases to announce and wake once the transaction has committed (its last attempt's). */
interface After {
  toWake: Release[];
  toAnnounce: Release[];
}

/**
 * One transaction: the answer already recorded (a redelivery), or Claimed while a step holds a
 * release the command would change, or the command authorized, decided and written with its
 * answer recorded under the request id.
 */
function applyCommand(
  d: Deps,
  msg: ControlMessage,
  identity: Identity,
  after: After,
): Promise<ControlResult | Claimed> {
  // A command that starts a release (retry, restart, undo) records whether its target is in a
  // release train, as a push does: the indexed query runs once, outside the transaction.
  const dependedOn = startsRelease(msg.command)
    ? d.store
        .dependentsOf(msg.target)
        .then((ts) => ts.length > 0)
        // Unknown is taken as no: the release's train waits then look again by themselves.
        .catch(() => false)
    : Promise.resolve(false);
  return d.store.transaction(async (tx): Promise<ControlResult | Claimed> => {
    after.toWake.length = 0;
    after.toAnnounce.length = 0;
    const ref = d.store.requestRef(msg.requestId);
    const seen = await tx.get(ref);
    if (seen.exists) return seen.data() as ControlResult;
    const now = d.now();
    const record = (r: ControlResult): ControlResult => {
      const doc: RequestRecord = {
        requestId: msg.requestId,
        receivedAt: now,
        expireAt: recordExpiry(now),
        command: msg.command,
        target: msg.target,
        requestedBy: msg.requestedBy,
        ...r,
      };
      tx.set(ref, doc);
      return r;
    };
    const read = await readAddressed(d, tx, msg);
    if (typeof read === 'string') {
      return record({ outcome: 'refused', code: 'not-found', reason: read, releaseId: null });
    }
    const { target, release, workload, live } = read;
    const busy = isClaimed([release, ...live], now);
    if (busy) return busy;
    const subject = { name: target.name, labels: read.labels, access: target.spec.access };
    const allowed = authorize(subject, installationOf(d), identity, msg.command);
    const outcome = allowed.allowed
      ? decide(target, release, workload, { type: 'control', msg, live }, now)
      : { kind: 'refused' as const, code: 'forbidden' as const, reason: allowed.reason, release };
    if (outcome.kind === 'refused') {
      if (release) recordRefusal(d, tx, msg, release, outcome.reason, now, after);
      return record({
        outcome: 'refused',
        code: outcome.code,
        reason: outcome.reason,
        releaseId: release?.id ?? null,
      });
    }
    const inTrain =
      outcome.kind === 'started' && ((target.spec.dependsOn?.length ?? 0) > 0 || (await dependedOn));
    const written = inTrain ? { ...outcome, release: { ...outcome.release, inTrain: true } } : outcome;
    const next = writeOutcome(d, tx, msg, written, after);
    return record({ outcome: 'applied', reason: null, releaseId: next.id });
  });
}

const startsRelease = (command: ControlMessage['command']) =>
  command === 'retry' || command === 'restart' || command === 'undo';

/** What a command addresses, read in its transaction. */
interface Addressed {
  target: EngineTarget;
  /** The stored target's metadata.labels. */
  labels: Record<string, string>;
  workload: Workload;
  /** The release named, else the target's latest. */
  release: Release | null;
  /** The target's releases in flight or queued. */
  live: Release[];
}

/** Reads the target, its workload, the release addressed and the live ones; or why there is nothing to apply the command to. */
async function readAddressed(d: Deps, tx: Tx, msg: ControlMessage): Promise<Addressed | string> {
  const targetSnap = await tx.get(d.store.targetRef(msg.target));
  const target = targetSnap.exists ? toEngineTarget(targetSnap.id, targetSnap.data()!) : null;
  if (!target) {
    return `${msg.command}: target ${msg.target} not found; \`switchyard targets\` lists the targets`;
  }
  const workload = await d.store.workload(msg.target, tx);
  const releaseId = msg.release ?? workload.inFlight ?? workload.queued ?? workload.lastRelease;
  const release = releaseId ? await d.store.release(releaseId, tx) : null;
  if (msg.release && (!release || release.target !== msg.target)) {
    return `${msg.command}: release ${msg.release} not found for target ${msg.target}`;
  }
  const live = await d.store.liveReleases(workload, tx);
  return { target, labels: labelsOf(targetSnap.data()!), workload, release, live };
}

/** The refusal goes into the release's history too, so `switchyard history` shows it. */
function recordRefusal(
  d: Deps,
  tx: Tx,
  msg: ControlMessage,
  release: Release,
  reason: string,
  now: number,
  after: After,
): void {
  const entry = {
    at: now,
    from: release.phase,
    to: release.phase,
    cause: msg.command,
    by: msg.requestedBy,
    reason: `refused: ${reason}`,
  };
  const history = [...release.history, entry];
  tx.update(d.store.releaseRef(release.id), { history, updatedAt: now, eventsPending: true });
  after.toAnnounce.push({ ...release, history, updatedAt: now });
}

/** Writes the release the command changed or started (and those it superseded) and the workload. */
function writeOutcome(
  d: Deps,
  tx: Tx,
  msg: ControlMessage,
  outcome: Exclude<ControlOutcome, { kind: 'refused' }>,
  after: After,
): Release {
  const next = planWake(d, outcome.release);
  if (outcome.kind === 'started') {
    tx.create(d.store.releaseRef(next.id), marked(next));
    for (const old of outcome.superseded) {
      const planned = planWake(d, old);
      tx.set(d.store.releaseRef(old.id), marked(planned));
      after.toWake.push(planned);
    }
  } else {
    tx.set(d.store.releaseRef(next.id), marked(next));
  }
  tx.set(d.store.workloadRef(msg.target), outcome.workload);
  after.toWake.push(next);
  return next;
}

/** The message as logged: an ID token is a credential for an hour, never written to a log. */
function withoutToken(data: unknown): unknown {
  if (!data || typeof data !== 'object' || Array.isArray(data) || !('idToken' in data)) return data;
  return { ...(data as Record<string, unknown>), idToken: '[redacted]' };
}
