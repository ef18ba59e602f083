// What an Artifact Registry notification means for the targets: a new release, or a recorded reason
// why nothing happens. Pure.
import { parseImageRef } from '../image-ref.ts';
import type { ArtifactRegistryMessage } from '../messages.ts';
import { matchTagFilter } from '../target/tag-filter.ts';
import { advance } from './kernel.ts';
import { isBeforeSwitch, isTerminal } from './phase.ts';
import { createRelease, type Release, type Workload } from './release.ts';
import { type EngineTarget, strategyOf } from './target.ts';
import { versionOf } from './trains.ts';

export interface ParsedPush {
  repository: string;
  /** `repository@sha256:…` */
  image: string;
  tag?: string;
}

/** Reads a push notification (shared/image-ref.ts's grammar); a string is the reason to ignore it. */
export function parsePush(msg: ArtifactRegistryMessage): ParsedPush | string {
  if (msg.action === 'DELETE') return `${msg.tag ?? msg.digest}: a DELETE is not released`;
  if (!msg.digest) return `${msg.tag}: the notification has no digest, and Switchyard deploys by digest only`;
  const d = parseImageRef(msg.digest);
  if (typeof d === 'string' || !d.digest || d.tag !== undefined) {
    return `${msg.digest}: not an image reference by sha256 digest`;
  }
  let tag: string | undefined;
  if (msg.tag) {
    const t = parseImageRef(msg.tag);
    if (typeof t === 'string' || t.tag === undefined || t.digest) {
      return `${msg.tag}: not an image reference with a tag`;
    }
    if (t.repository !== d.repository) return `${msg.tag}: tag of another repository than ${d.repository}`;
    tag = t.tag;
  }
  return { repository: d.repository, image: `${d.repository}@${d.digest}`, ...(tag ? { tag } : {}) };
}

/** Why a target does not release this push, or null when it does. */
export function refusal(target: EngineTarget, push: ParsedPush): string | null {
  if (push.tag === undefined) {
    return target.spec.image.untagged === 'ignore'
      ? `untagged push of ${push.image} ignored (target ${target.name} has image.untagged: ignore)`
      : null;
  }
  const filter = target.spec.image.tagFilter;
  if (filter === undefined) return null;
  // RE2, linear in the tag's length: this runs inside the push transaction.
  const matched = matchTagFilter(filter, push.tag);
  if (typeof matched === 'object') {
    return `tagFilter ${filter} of target ${target.name} cannot be run (${matched.problem}): fix it and apply the target again`;
  }
  return matched ? null : `tag ${push.tag} does not match tagFilter ${filter} of target ${target.name}`;
}

export type PushOutcome =
  | { kind: 'ignored'; reason: string }
  | {
      kind: 'released';
      release: Release;
      workload: Workload;
      /** In-flight or queued releases this push ended, as they must be saved. */
      superseded: Release[];
    };

/**
 * The outcome of a push for one target, given its workload record and the releases in flight or
 * queued (by id). Supersedes a release that has not switched yet; queues behind one that has.
 */
export function decidePush(
  target: EngineTarget,
  push: ParsedPush,
  messageId: string,
  workload: Workload,
  active: Release[],
  now: number,
): PushOutcome {
  const why = refusal(target, push);
  if (why) return { kind: 'ignored', reason: why };
  const live = active.filter((r) => !isTerminal(r.phase));
  const same = live.find((r) => r.image === push.image && !r.restartedAt);
  if (same) return { kind: 'ignored', reason: `release ${same.id} is already releasing ${push.image}` };
  if (!workload.inFlight && workload.stable?.image === push.image) {
    return {
      kind: 'ignored',
      reason: `${push.image} is already stable (revision ${workload.stable.revision}): nothing to do`,
    };
  }
  const release = createRelease(
    workload,
    {
      target: target.name,
      targetGeneration: target.generation,
      trigger: { kind: 'push', messageId, ...(push.tag ? { tag: push.tag } : {}) },
      image: push.image,
      ...(push.tag ? { tag: push.tag, version: versionOf(target, push.tag) } : {}),
    },
    now,
  );
  return supersedeFor(release, workload, live, now, strategyOf(target).abortScaleDownDelaySeconds * 1000);
}

/**
 * Places a new release beside the live ones: those that have not switched are superseded (their green
 * removed), and the new release queues behind one that has switched already.
 */
export function supersedeFor(
  release: Release,
  workload: Workload,
  live: Release[],
  now: number,
  /** abortScaleDownDelaySeconds: how long a superseded candidate stays before it is drained and removed. */
  cleanupDelayMs: number,
): PushOutcome {
  const superseded: Release[] = [];
  let inFlight = workload.inFlight;
  let inFlightGreen = workload.inFlightCandidate;
  let queued: string | null = null;
  for (const old of live) {
    // Behind one that has switched, or that is adopting the plain Deployment (the Services are being
    // narrowed to its first revision), the new release waits its turn.
    if (old.id === workload.inFlight && (!isBeforeSwitch(old.phase) || old.phase === 'Adopting')) {
      queued = release.id;
      continue;
    }
    const candidate = old.candidate;
    const cleanup =
      candidate && candidate.revision !== workload.stable?.revision
        ? { deployment: candidate.deployment, at: now + cleanupDelayMs, action: 'delete' as const }
        : null;
    superseded.push(
      advance(old, now, {
        phase: 'Superseded',
        reason: `superseded by ${release.id} (${release.image})`,
        cause: 'push',
        patch: { cleanup },
      }),
    );
    if (old.id === inFlight) {
      inFlight = null;
      inFlightGreen = null;
    }
  }
  // A superseded release may have resized the stable revision (the replica-ratio router shrinks
  // it): the new one starts from the full size the old one knew, not from what is left.
  const known = Math.max(release.replicas, ...superseded.map((r) => r.replicas));
  if (known !== release.replicas) release = { ...release, replicas: known };
  // Unless it waits behind a release that has switched, the new release is the one in flight now,
  // so a duplicate of its push finds it.
  if (!queued) inFlight = release.id;
  return {
    kind: 'released',
    release,
    workload: {
      ...workload,
      inFlight,
      inFlightCandidate: inFlightGreen,
      queued,
      releases: release.number,
      lastRelease: release.id,
    },
    superseded,
  };
}
