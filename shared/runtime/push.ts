// An image push (the `gcr` topic) becomes a release for each target of its repository, or a
// recorded reason why not. Recorded per message id and target, so a redelivered push does nothing twice.

import { marked, type PushRecord, recordExpiry } from '../adapters/store.ts';
import { decide } from '../engine/decide.ts';
import { parsePush, refusal } from '../engine/intake.ts';
import type { Release } from '../engine/release.ts';
import type { EngineTarget } from '../engine/target.ts';
import { artifactRegistryMessage, describeIssues } from '../messages.ts';
import { RegistryUnavailableError } from '../registry/check.ts';
import { installationRegistry, type RegistryVerifier } from '../registry/installation.ts';
import { type Claimed, claimed, outsideClaims } from './claims.ts';
import type { Deps } from './deps.ts';
import { announce } from './events.ts';
import { noteRelease } from './metrics.ts';
import { dispatchWake, planWake } from './wake.ts';

export interface PushResult {
  target: string | null;
  outcome: 'released' | 'ignored';
  reason: string | null;
  releaseId: string | null;
}

/**
 * The largest notification the intake reads, in bytes of its JSON. Artifact Registry's are a few
 * hundred bytes (an action, and digest and tag as full image references: FACTS.md §1), so 16 KiB
 * leaves fifty times that and still keeps a push record (which stores the message) far below
 * Firestore's 1 MiB document limit. Pub/Sub takes messages of up to 10 MB: one over 1 MiB failed
 * its record's write, was retried and dead-lettered with no record of why.
 */
export const maxPushBytes = 16 * 1024;

/** What a record keeps of a notification too large to store: its size and its first characters. */
const keptOfOversized = 200;

/**
 * `registry`: asks the registry whether the pushed image is there as the notification says (default:
 * the installation's, shared/registry/installation.ts).
 */
export async function runPush(
  d: Deps,
  messageId: string,
  data: unknown,
  registry: RegistryVerifier = installationRegistry(),
): Promise<PushResult[]> {
  const log = d.log.with({ messageId });
  const now = d.now();
  const text = JSON.stringify(data ?? null);
  const bytes = Buffer.byteLength(text);
  const oversized = bytes > maxPushBytes;
  const stored = oversized ? { bytes, head: text.slice(0, keptOfOversized) } : (data ?? null);
  const record = async (r: PushResult): Promise<PushResult[]> => {
    const doc: PushRecord = {
      messageId,
      receivedAt: now,
      expireAt: recordExpiry(now),
      message: stored,
      ...r,
    };
    await d.store.put(d.store.pushRef(messageId, r.target ?? '-'), doc);
    log.info(`push ignored: ${r.reason}`, { target: r.target });
    return [r];
  };
  if (oversized) {
    return record({
      target: null,
      outcome: 'ignored',
      reason: `notification of ${bytes} bytes is over the limit of ${maxPushBytes} bytes (an Artifact Registry notification is a few hundred): not read`,
      releaseId: null,
    });
  }
  const parsed = artifactRegistryMessage.safeParse(data);
  if (!parsed.success) {
    return record({
      target: null,
      outcome: 'ignored',
      reason: `malformed notification: ${describeIssues(parsed.error)}`,
      releaseId: null,
    });
  }
  const push = parsePush(parsed.data);
  if (typeof push === 'string')
    return record({ target: null, outcome: 'ignored', reason: push, releaseId: null });
  const targets = await d.store.targetsForRepository(push.repository);
  if (targets.length === 0) {
    return record({
      target: null,
      outcome: 'ignored',
      reason: `no target for repository ${push.repository}; \`switchyard targets\` lists the targets`,
      releaseId: null,
    });
  }
  // The registry is asked once, outside any transaction and under its deadline, and only when a
  // target would release the push: a forged or stale notification (a digest the registry lacks, a
  // tag that points elsewhere, a host that is not Google's) is refused with the reason, per target,
  // as a tagFilter mismatch is. A registry that cannot be asked fails the delivery, so Pub/Sub
  // delivers it again.
  let registryRefusal: string | null = null;
  if (targets.some((t) => refusal(t, push) === null)) {
    try {
      registryRefusal = await registry.verify(push);
    } catch (err) {
      if (err instanceof RegistryUnavailableError) log.warn(`push not read yet: ${err.message}`);
      throw err;
    }
  }
  const inTrain = await trainMembership(d, targets);
  const results: PushResult[] = [];
  for (const t of targets) {
    const toWake: Release[] = [];
    // A supersede never overtakes a running step of the release it ends (claims.ts).
    const result = await outsideClaims(d, 'push', () =>
      d.store.transaction(async (tx): Promise<PushResult | Claimed> => {
        const ref = d.store.pushRef(messageId, t.name);
        const seen = await tx.get(ref);
        if (seen.exists) return seen.data() as PushResult;
        const target = (await d.store.target(t.name, tx)) ?? t;
        const workload = await d.store.workload(t.name, tx);
        const live = await d.store.liveReleases(workload, tx);
        const busy = claimed(live, d.now());
        if (busy) return busy;
        const outcome =
          registryRefusal && refusal(target, push) === null
            ? { kind: 'ignored' as const, reason: registryRefusal }
            : decide(target, null, workload, { type: 'push', push, messageId, active: live }, d.now());
        toWake.length = 0;
        let r: PushResult;
        if (outcome.kind === 'ignored') {
          r = { target: t.name, outcome: 'ignored', reason: outcome.reason, releaseId: null };
        } else {
          const release = planWake(
            d,
            inTrain.has(t.name) ? { ...outcome.release, inTrain: true } : outcome.release,
          );
          tx.create(d.store.releaseRef(release.id), marked(release));
          for (const old of outcome.superseded) {
            const planned = planWake(d, old);
            tx.set(d.store.releaseRef(old.id), marked(planned));
            toWake.push(planned);
          }
          tx.set(d.store.workloadRef(t.name), outcome.workload);
          toWake.push(release);
          r = { target: t.name, outcome: 'released', reason: null, releaseId: release.id };
        }
        const doc: PushRecord = {
          messageId,
          receivedAt: now,
          expireAt: recordExpiry(now),
          message: stored,
          ...r,
        };
        tx.set(ref, doc);
        return r;
      }),
    );
    log.info(
      result.outcome === 'released'
        ? `release ${result.releaseId} started`
        : `push ignored: ${result.reason}`,
      {
        target: t.name,
        releaseId: result.releaseId ?? undefined,
      },
    );
    noteRelease(result.releaseId);
    await Promise.all(toWake.map((r) => announce(d, r)));
    await Promise.all(toWake.map((r) => dispatchWake(d, r)));
    results.push(result);
  }
  return results;
}

/**
 * The targets of `targets` in a release train (they depend on a target, or one depends on them):
 * their releases say so (inTrain), so only those wake the other members of their train.
 */
async function trainMembership(d: Deps, targets: EngineTarget[]): Promise<Set<string>> {
  const inTrain = await Promise.all(
    targets.map(
      async (t) => (t.spec.dependsOn?.length ?? 0) > 0 || (await d.store.dependentsOf(t.name)).length > 0,
    ),
  );
  return new Set(targets.filter((_, i) => inTrain[i]).map((t) => t.name));
}
