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
  const blue = ctx.workload.stable;
  const blueStatus = blue ? snap.revisions[blue.revision] : undefined;
  if (!blue || !blueStatus?.exists) return fail(ctx, 'undo: there is no stable revision to leave');
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
      patch: { blue, green: undoTo, replicas: full },
    },
    takeOver,
    { ...w, inFlightGreen: undoTo.deployment },
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

function deployNewRevision(ctx: StepContext, w: Workload, blue: RevisionRef): Decision {
  const { target, release } = ctx;
  const blueStatus = ctx.obs.snapshot.revisions[blue.revision];
  if (!blueStatus?.exists) {
    return fail(
      ctx,
      `the stable revision ${blue.deployment} is missing from namespace "${target.spec.namespace}"`,
    );
  }
  const template = templateFor(ctx, blueStatus.template);
  if (typeof template === 'string') return fail(ctx, template);
  // The stable revision's current size: what its HPA (if any) has scaled it to (or the size a
  // superseded release knew, if it had shrunk it).
  const full = Math.max(1, blueStatus.desired, release.replicas);
  const bg = strategyOf(target);
  const spec = revisionSpec(target, release, template, bg.previewReplicaCount ?? full);
  const green: RevisionRef = {
    revision: spec.revision,
    deployment: deploymentName(target.spec.workload, spec.revision),
    image: release.image,
  };
  if (green.revision === blue.revision) return alreadyStable(ctx, w, blue, full);
  const routed = Boolean(target.spec.strategy.canary?.trafficRouting);
  const commands: Command[] = [...takeOverOf(target)];
  if (target.spec.strategy.canary && !routed) {
    commands.push({ type: 'FinalizeRouter', stableRevision: blue.revision });
  }
  commands.push({ type: 'EnsureRevision', spec });
  if (bg.previewService && !routed) {
    commands.push({ type: 'SelectRevision', service: bg.previewService, revision: green.revision });
  }
  const patch = { blue, green, replicas: full };
  const change = { phase: 'DeployingGreen', reason: null, wakeIn: poll(release, ctx.now), patch } as const;
  return go(ctx, change, commands, { ...w, inFlightGreen: green.deployment });
}

/**
 * The image's revision is the stable one already. A canary superseded on the way may have left
 * routes, a wide selector or a shrunk stable revision: they go back to stable at full size first.
 */
function alreadyStable(ctx: StepContext, w: Workload, blue: RevisionRef, full: number): Decision {
  const settle: Command[] = ctx.target.spec.strategy.canary
    ? [...takeOverOf(ctx.target), { type: 'FinalizeRouter', stableRevision: blue.revision }]
    : [];
  const reason = `revision ${blue.revision} is already stable`;
  const patch = { blue, green: blue, replicas: full };
  return go(ctx, { phase: 'Succeeded', reason, patch }, settle, endFor(w, ctx.release));
}
