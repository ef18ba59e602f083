// An image push (the `gcr` topic) becomes a release for each target of its repository, or a
// recorded reason why not. Recorded per message id and target, so a redelivered push does nothing twice.

import { marked, type PushRecord, recordExpiry } from '../adapters/store.ts';
import { decidePush, parsePush } from '../engine/intake.ts';
import type { Release } from '../engine/release.ts';
import { artifactRegistryMessage, describeIssues } from '../messages.ts';
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

export async function runPush(d: Deps, messageId: string, data: unknown): Promise<PushResult[]> {
  const log = d.log.with({ messageId });
  const now = d.now();
  const record = async (r: PushResult): Promise<PushResult[]> => {
    const doc: PushRecord = {
      messageId,
      receivedAt: now,
      expireAt: recordExpiry(now),
      message: data ?? null,
      ...r,
    };
    await d.store.put(d.store.pushRef(messageId, r.target ?? '-'), doc);
    log.info(`push ignored: ${r.reason}`, { target: r.target });
    return [r];
  };
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
  const results: PushResult[] = [];
  for (const t of targets) {
    const toWake: Release[] = [];
    const result = await d.store.transaction(async (tx) => {
      const ref = d.store.pushRef(messageId, t.name);
      const seen = await tx.get(ref);
      if (seen.exists) return seen.data() as PushResult;
      const target = (await d.store.target(t.name, tx)) ?? t;
      const workload = await d.store.workload(t.name, tx);
      const live = await d.store.liveReleases(workload, tx);
      const outcome = decidePush(target, push, messageId, workload, live, d.now());
      toWake.length = 0;
      let r: PushResult;
      if (outcome.kind === 'ignored') {
        r = { target: t.name, outcome: 'ignored', reason: outcome.reason, releaseId: null };
      } else {
        const release = planWake(d, outcome.release);
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
        message: data ?? null,
        ...r,
      };
      tx.set(ref, doc);
      return r;
    });
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
