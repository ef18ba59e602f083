// A step's lease on its release and the Firestore writes made under it: claim() takes the release
// (or says why not), renew() extends the lease before cluster writes, fence() stops a write the
// lease has no time left for, commit() writes the decision while the lease is still this step's,
// unclaim() gives it back. Each is one transaction.
import { randomUUID } from 'node:crypto';
import { marked, toEngineTarget } from '../adapters/store.ts';
import { advance } from '../engine/kernel.ts';
import { isTerminal } from '../engine/phase.ts';
import type { Release, Workload } from '../engine/release.ts';
import type { EngineTarget } from '../engine/target.ts';
import { errorKind } from '../errors.ts';
import { defaultRequestTimeoutMs } from '../kubernetes/client.ts';
import { canonicalJson } from '../kubernetes/revision.ts';
import type { StepMessage } from '../messages.ts';
import { readTarget } from '../target/stored.ts';
import { attemptsOf, messageOf, ranBefore } from './attempts.ts';
import type { Deps } from './deps.ts';
import { announce } from './events.ts';

/** The validation problems of a stored target, as one line, or null when it is valid. */
export function storedTargetProblems(name: string, data: FirebaseFirestore.DocumentData): string | null {
  const read = readTarget(name, data);
  if (!('errors' in read)) return null;
  return read.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
}

/** Takes the release for this step in a transaction, unless the message is stale or another step holds it. */
export async function claim(
  d: Deps,
  msg: StepMessage,
): Promise<{ release: Release; target: EngineTarget } | 'stale' | 'busy'> {
  let ended: Release | null = null;
  const claimed = await d.store.transaction(async (tx) => {
    ended = null;
    const release = await d.store.release(msg.releaseId, tx);
    if (!release || release.seq !== msg.seq) return 'stale' as const;
    const now = d.now();
    if (release.lease && release.lease.until > now) return 'busy' as const;
    const stored = await tx.get(d.store.targetRef(release.target));
    const problems = stored.exists ? storedTargetProblems(release.target, stored.data()!) : null;
    if (!stored.exists || problems) {
      // The target was deleted, or no longer validates (edited outside apply, or a schema it was
      // stored under no longer holds): end the release with the reason, touch nothing.
      const reason = stored.exists
        ? `target ${release.target} no longer validates: ${problems}; fix it and apply it again, then retry`
        : `target ${release.target} no longer exists`;
      // An ended release keeps its phase; only its pending cleanup is dropped.
      ended = isTerminal(release.phase)
        ? advance(release, now, {
            reason: `cleanup dropped: ${reason}`,
            cause: 'cleanup',
            patch: { cleanup: null },
          })
        : advance(release, now, { phase: 'Failed', reason });
      tx.set(d.store.releaseRef(release.id), marked(ended));
      return 'stale' as const;
    }
    const target = toEngineTarget(release.target, stored.data()!);
    // One owner per invocation: two deliveries in the same process must not both think they hold it.
    const lease = { owner: `${d.owner}/${randomUUID().slice(0, 8)}`, until: now + d.leaseMs };
    tx.update(d.store.releaseRef(release.id), { lease });
    return { release: { ...release, lease }, target };
  });
  if (ended) await announce(d, ended);
  return claimed;
}

/** Gives the claim back; after a failed attempt also counts it (see maxAttempts). */
export async function unclaim(d: Deps, release: Release, err?: unknown): Promise<void> {
  await d.store.transaction(async (tx) => {
    const current = await d.store.release(release.id, tx);
    if (current && current.seq === release.seq && current.lease?.owner === release.lease?.owner) {
      const failed = err !== undefined && errorKind(err) !== 'fenced';
      // Commands the failed pass ran changed the cluster: the history says so, though the pass
      // committed nothing else (seq stays, so the step delivered again is still the current one).
      const ran = ranBefore(err);
      const partial = {
        at: d.now(),
        from: current.phase,
        to: current.phase,
        cause: 'step',
        reason: `ran before failing: ${messageOf(err).slice(0, 300)}`,
        commands: ran,
      };
      tx.update(d.store.releaseRef(release.id), {
        lease: null,
        ...(failed
          ? { attempts: { count: attemptsOf(current) + 1, error: messageOf(err).slice(0, 500) } }
          : {}),
        ...(ran.length > 0 ? { history: [...current.history, partial] } : {}),
      });
    }
  });
}

/**
 * The fence of a step's cluster writes: a write starts only while the lease has more than
 * fenceMarginMs left, which is longer than the Kubernetes client's request timeout, so no write
 * of this step can land after the lease has passed to someone else (a control command, the
 * sweep's redelivery). Throws 'fenced' otherwise: the step stops and commits nothing.
 */
export function fence(d: Deps, lease: { until: number }): void {
  if (d.now() > lease.until - fenceMarginMs(d)) {
    throw Object.assign(new Error('the step ran out of its lease; it writes nothing more'), {
      kind: 'fenced' as const,
    });
  }
}

const fenceMarginMs = (d: Deps) => Math.min(d.leaseMs / 2, 3 * defaultRequestTimeoutMs);

/** Extends the lease when less than half of it is left; null when it is no longer this step's. */
export async function renew(d: Deps, release: Release, lease: { owner: string; until: number }) {
  if (lease.until - d.now() > d.leaseMs / 2) return lease;
  return d.store.transaction(async (tx) => {
    const current = await d.store.release(release.id, tx);
    if (!current || current.seq !== release.seq || current.lease?.owner !== lease.owner) return null;
    const next = { owner: lease.owner, until: d.now() + d.leaseMs };
    tx.update(d.store.releaseRef(release.id), { lease: next });
    return next;
  });
}

/**
 * Writes the decision if the release is still at the seq this step claimed. The workload record is
 * written only when the decision changed it, and only if nobody else changed it since the step read
 * it (a push or a control command in between): otherwise the step commits nothing ("stale"); its
 * cluster writes are idempotent and the next step sees them.
 */
export async function commit(
  d: Deps,
  claimed: Release,
  next: Release,
  read: Workload,
  workload: Workload,
): Promise<boolean> {
  return d.store.transaction(async (tx) => {
    const current = await d.store.release(claimed.id, tx);
    if (!current || current.seq !== claimed.seq || current.lease?.owner !== claimed.lease?.owner)
      return false;
    const changed = canonicalJson(workload) !== canonicalJson(read);
    if (changed && canonicalJson(await d.store.workload(workload.target, tx)) !== canonicalJson(read))
      return false;
    tx.set(d.store.releaseRef(next.id), marked(next));
    if (changed) tx.set(d.store.workloadRef(workload.target), workload);
    return true;
  });
}
