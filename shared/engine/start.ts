// A release's first step (Pending): it waits its turn, then takes the workload in flight and either
// goes back to an earlier revision (undo), adopts a plain Deployment (adoption.ts), or creates its new
// revision from the stable one's template. Pure.
import { deploymentName, greenTemplate } from '../kubernetes/revision.ts';
import { startAdoption } from './adoption.ts';
import type { Command } from './commands.ts';
import {
  type Decision,
  endFor,
  fail,
  go,
  poll,
  pollMs,
  revisionSpec,
  type StepContext,
  wait,
} from './kernel.ts';
import type { PodTemplate, RevisionRef, Workload } from './release.ts';
import { type EngineTarget, strategyOf } from './target.ts';

export function startRelease(ctx: StepContext): Decision {
  const { release, workload } = ctx;
  if (workload.inFlight && workload.inFlight !== release.id) {
    return wait(ctx, `waiting for release ${workload.inFlight} to finish`, 2 * pollMs);
  }
  const w: Workload = {
    ...workload,
    inFlight: release.id,
    queued: workload.queued === release.id ? null : workload.queued,
  };
  if (release.undoTo) return startUndo(ctx, w, release.undoTo);
  if (!workload.stable) return startAdoption(ctx, w);
  return deployNewRevision(ctx, w, workload.stable);
}

/**
 * A routed canary's routes are taken over by this release first, at weight 0: a superseded canary
 * may have left weight, or its own canary Ingress (which only its owner removes), on the canary
 * Service. The canary Service is pointed at the new revision only once they read back at 0
 * (decideCanary, DeployingGreen).
 */
function takeOverOf(target: EngineTarget): Command[] {
  return target.spec.strategy.canary?.trafficRouting ? [{ type: 'PrepareRouter' }] : [];
}

/** Undo: straight to the switch back to the earlier revision, which must still exist. */
function startUndo(ctx: StepContext, w: Workload, undoTo: RevisionRef): Decision {
  const snap = ctx.obs.snapshot;
  const stable = ctx.workload.stable;
  const blueStatus = stable ? snap.revisions[stable.revision] : undefined;
  if (!stable || !blueStatus?.exists) return fail(ctx, 'undo: there is no stable revision to leave');
  if (!snap.revisions[undoTo.revision]?.exists) {
    return fail(ctx, `undo: revision ${undoTo.deployment} no longer exists; release its image again instead`);
  }
  const full = Math.max(1, blueStatus.desired);
  const takeOver = takeOverOf(ctx.target);
  return go(
    ctx,
    {
      phase: 'Switching',
      reason: `undo: back to ${undoTo.deployment}`,
      wakeIn: 0,
      patch: { stable, candidate: undoTo, replicas: full },
    },
    takeOver,
    { ...w, inFlightCandidate: undoTo.deployment },
  );
}

/** The new revision's template: the stable one's with the release's image (and restart mark). */
function templateFor(ctx: StepContext, stable: PodTemplate): PodTemplate | string {
  const { target, release } = ctx;
  try {
    return greenTemplate(
      stable,
      release.image,
      target.spec.containers,
      target.spec.image.repository,
      release.restartedAt,
    );
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function deployNewRevision(ctx: StepContext, w: Workload, stable: RevisionRef): Decision {
  const { target, release } = ctx;
  const blueStatus = ctx.obs.snapshot.revisions[stable.revision];
  if (!blueStatus?.exists) {
    return fail(
      ctx,
      `the stable revision ${stable.deployment} is missing from namespace "${target.spec.namespace}"`,
    );
  }
  const template = templateFor(ctx, blueStatus.template);
  if (typeof template === 'string') return fail(ctx, template);
  // The stable revision's current size: what its HPA (if any) has scaled it to (or the size a
  // superseded release knew, if it had shrunk it).
  const full = Math.max(1, blueStatus.desired, release.replicas);
  const bg = strategyOf(target);
  const spec = revisionSpec(target, release, template, bg.previewReplicaCount ?? full);
  const candidate: RevisionRef = {
    revision: spec.revision,
    deployment: deploymentName(target.spec.workload, spec.revision),
    image: release.image,
  };
  if (candidate.revision === stable.revision) return alreadyStable(ctx, w, stable, full);
  const routed = Boolean(target.spec.strategy.canary?.trafficRouting);
  const commands: Command[] = [...takeOverOf(target)];
  if (target.spec.strategy.canary && !routed) {
    commands.push({ type: 'FinalizeRouter', stableRevision: stable.revision });
  }
  commands.push({ type: 'EnsureRevision', spec });
  if (bg.previewService && !routed) {
    commands.push({ type: 'SelectRevision', service: bg.previewService, revision: candidate.revision });
  }
  const patch = { stable, candidate, replicas: full };
  const change = { phase: 'DeployingGreen', reason: null, wakeIn: poll(release, ctx.now), patch } as const;
  return go(ctx, change, commands, { ...w, inFlightCandidate: candidate.deployment });
}

/**
 * The image's revision is the stable one already. A canary superseded on the way may have left
 * routes, a wide selector or a shrunk stable revision: they go back to stable at full size first.
 */
function alreadyStable(ctx: StepContext, w: Workload, stable: RevisionRef, full: number): Decision {
  const settle: Command[] = ctx.target.spec.strategy.canary
    ? [...takeOverOf(ctx.target), { type: 'FinalizeRouter', stableRevision: stable.revision }]
    : [];
  const reason = `revision ${stable.revision} is already stable`;
  const patch = { stable, candidate: stable, replicas: full };
  return go(ctx, { phase: 'Succeeded', reason, patch }, settle, endFor(w, ctx.release));
}
