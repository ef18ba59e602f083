// Publishing release events (SPEC §9). After every commit, the history entries not yet published go
// out on the events topic as CloudEvents, and the release records how far it got. A function that
// dies in between leaves the release marked (eventsPending), and the sweep publishes the rest. An
// event may so go out twice, always with the same id; never is one lost or a release held up.

import { failurePhases } from '../engine/phase.ts';
import type { Release } from '../engine/release.ts';
import { type EngineTarget, strategyOf } from '../engine/target.ts';
import type { Cluster } from '../kubernetes/types.ts';
import { releaseEvent } from '../notify/event.ts';
import type { Deps } from './deps.ts';
import { count } from './metrics.ts';
import { wakeTrain } from './train-wake.ts';

/**
 * After a commit: wakes the members of the release's train that act on its new history entries
 * (train-wake.ts), then publishes those entries. Failures are logged, never thrown.
 */
export async function announce(d: Deps, release: Release): Promise<number> {
  const from = release.announced ?? 0;
  if (release.history.length <= from) return 0;
  await wakeTrain(d, release, from);
  return publishEvents(d, release, from);
}

/** Publishes the release's history entries from index `from` on, and records how far it got. */
async function publishEvents(d: Deps, release: Release, from: number): Promise<number> {
  const upto = release.history.length;
  const topic = d.pubsub.topic(d.topology.eventsTopic);
  try {
    for (let index = from; index < upto; index++) {
      const event = releaseEvent(release, index, d.events);
      count('pubsubPublishes');
      await topic.publishMessage({
        json: event,
        attributes: {
          'ce-id': event.id,
          'ce-type': event.type,
          target: release.target,
          releaseId: release.id,
          phase: event.data.to,
          ...(event.data.version ? { version: event.data.version } : {}),
        },
      });
    }
    await d.store.transaction(async (tx) => {
      const current = await d.store.release(release.id, tx);
      if (!current || (current.announced ?? 0) >= upto) return;
      tx.update(d.store.releaseRef(release.id), {
        announced: upto,
        eventsPending: current.history.length > upto,
      });
    });
    return upto - from;
  } catch (err) {
    d.log.warn(
      `release events not published yet (the sweep will): ${err instanceof Error ? err.message : String(err)}`,
      { releaseId: release.id, target: release.target },
    );
    return 0;
  }
}

/** The sweep's catch-up: releases whose events a dead function left unpublished. */
export async function announcePending(d: Deps, olderThanMs: number): Promise<number> {
  const now = d.now();
  let published = 0;
  for (const release of await d.store.releasesWithPendingEvents()) {
    // A function that committed a moment ago is still publishing these itself.
    if (release.updatedAt > now - olderThanMs) continue;
    published += await announce(d, release);
  }
  return published;
}

/**
 * Records the phase changes a step committed as Kubernetes Events on the revision they concern (or
 * the Service before there is one), so `kubectl describe` and `kubectl get events` tell the story
 * too. Best effort: an Event that cannot be written is logged and the release goes on.
 */
export async function recordClusterEvents(
  d: Deps,
  cluster: Cluster,
  target: EngineTarget,
  before: Release,
  after: Release,
): Promise<void> {
  const changes = after.history.slice(before.history.length).filter((h) => h.from !== h.to);
  if (changes.length === 0) return;
  const revision = after.candidate ?? after.adoption?.revision ?? null;
  const regarding = revision
    ? { kind: 'Deployment' as const, name: revision.deployment }
    : { kind: 'Service' as const, name: strategyOf(target).activeService };
  for (const h of changes) {
    try {
      await cluster.recordEvent(target.spec.namespace, {
        regarding,
        reason: h.to,
        action: h.cause,
        note: `release ${after.id}: ${h.from ?? 'new'} -> ${h.to}${h.reason ? `: ${h.reason}` : ''}`,
        type: failurePhases.has(h.to) ? 'Warning' : 'Normal',
        instance: d.owner,
      });
    } catch (err) {
      d.log.warn(`Kubernetes Event not recorded: ${err instanceof Error ? err.message : String(err)}`, {
        releaseId: after.id,
        target: target.name,
      });
    }
  }
}
