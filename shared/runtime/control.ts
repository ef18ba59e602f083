// A control message (promote, abort, …) applied to its release in one transaction, with the answer
// recorded under its request id: a redelivered command is answered again, not applied twice.
import { marked, type RequestRecord, recordExpiry } from '../adapters/store.ts';
import { decideControl } from '../engine/control.ts';
import type { Release } from '../engine/release.ts';
import { controlMessage, describeIssues } from '../messages.ts';
import type { Deps } from './deps.ts';
import { announce } from './events.ts';
import { noteRelease } from './metrics.ts';
import { dispatchWake, planWake } from './wake.ts';

export interface ControlResult {
  outcome: 'applied' | 'refused';
  reason: string | null;
  releaseId: string | null;
}

export async function runControl(d: Deps, data: unknown): Promise<ControlResult> {
  const parsed = controlMessage.safeParse(data);
  if (!parsed.success) {
    // Nothing to record it under without a valid request id: log it and drop it (retrying cannot help).
    const reason = `malformed control message: ${describeIssues(parsed.error)}`;
    d.log.warn(reason, { message: data });
    return { outcome: 'refused', reason, releaseId: null };
  }
  const msg = parsed.data;
  const log = d.log.with({ target: msg.target, requestId: msg.requestId, command: msg.command });
  const toWake: Release[] = [];
  const toAnnounce: Release[] = [];
  const result = await d.store.transaction(async (tx) => {
    toWake.length = 0;
    toAnnounce.length = 0;
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
    const target = await d.store.target(msg.target, tx);
    if (!target) {
      return record({
        outcome: 'refused',
        reason: `${msg.command}: target ${msg.target} not found; \`switchyard targets\` lists the targets`,
        releaseId: null,
      });
    }
    const workload = await d.store.workload(msg.target, tx);
    const releaseId = msg.release ?? workload.inFlight ?? workload.queued ?? workload.lastRelease;
    const release = releaseId ? await d.store.release(releaseId, tx) : null;
    if (msg.release && (!release || release.target !== msg.target)) {
      return record({
        outcome: 'refused',
        reason: `${msg.command}: release ${msg.release} not found for target ${msg.target}`,
        releaseId: null,
      });
    }
    const live = await d.store.liveReleases(workload, tx);
    const outcome = decideControl(target, msg, release, workload, live, now);
    if (outcome.kind === 'refused') {
      if (release) {
        // The refusal goes into the release's history too, so `switchyard history` shows it.
        const entry = {
          at: now,
          from: release.phase,
          to: release.phase,
          cause: msg.command,
          by: msg.requestedBy,
          reason: `refused: ${outcome.reason}`,
        };
        const history = [...release.history, entry];
        tx.update(d.store.releaseRef(release.id), { history, updatedAt: now, eventsPending: true });
        toAnnounce.push({ ...release, history, updatedAt: now });
      }
      return record({ outcome: 'refused', reason: outcome.reason, releaseId: release?.id ?? null });
    }
    const next = planWake(d, outcome.release);
    if (outcome.kind === 'started') {
      tx.create(d.store.releaseRef(next.id), marked(next));
      for (const old of outcome.superseded) {
        const planned = planWake(d, old);
        tx.set(d.store.releaseRef(old.id), marked(planned));
        toWake.push(planned);
      }
    } else {
      tx.set(d.store.releaseRef(next.id), marked(next));
    }
    tx.set(d.store.workloadRef(msg.target), outcome.workload);
    toWake.push(next);
    return record({ outcome: 'applied', reason: null, releaseId: next.id });
  });
  log.info(`${msg.command} ${result.outcome}${result.reason ? `: ${result.reason}` : ''}`, {
    releaseId: result.releaseId ?? undefined,
  });
  noteRelease(result.releaseId);
  await Promise.all([...toAnnounce, ...toWake].map((r) => announce(d, r)));
  await Promise.all(toWake.map((r) => dispatchWake(d, r)));
  return result;
}
