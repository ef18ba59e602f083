// The blue-green state machine: decide(release, input, now) -> the next release, workload and the
// commands to run. Pure: no I/O, no clock, no randomness. A step runs the same decision again when
// its message arrives twice; the commands it returns are idempotent, so nothing is done twice.
import type { ProviderResult } from '../analysis/provider.ts';
import { type ReleaseFacts, resolveAnalysis } from '../analysis/resolve.ts';
import { advanceRun, nextDue, type RunKind, startRun } from '../analysis/run.ts';
import type { AnalysisRef } from '../analysis/schema.ts';
import { deploymentName, greenTemplate, revisionOf } from '../kubernetes/revision.ts';
import type { EndpointCounts, RevisionSpec, WorkloadSnapshot } from '../kubernetes/types.ts';
import type { RouteState } from '../routers/router.ts';
import type { StepName } from '../topology.ts';
import { decideCanary } from './canary.ts';
import { type Command, describeCommand } from './commands.ts';
import {
  isTerminal,
  type Phase,
  type PodTemplate,
  type Release,
  type RevisionRef,
  type Workload,
} from './release.ts';
import { type EngineTarget, strategyOf } from './target.ts';

/** How often a waiting step looks at the cluster again: soon right after a change, then every second. */
export const pollMs = 1000;
const quickPollMs = 250;
const quickPhaseMs = 5000;

export function poll(release: Release, now: number): number {
  return now - release.phaseSince < quickPhaseMs ? quickPollMs : pollMs;
}

/** What the step's function read from the cluster just before deciding. */
export interface Observation {
  snapshot: WorkloadSnapshot;
  /** EndpointSlice counts of the target's Services, by Service name. */
  endpoints: Record<string, EndpointCounts>;
  /** Answers of the metric providers for the due metrics of the running analyses: by run, then metric. */
  measurements?: Partial<Record<RunKind, Record<string, ProviderResult>>>;
  /** Canary: the traffic router's read-back of what is in force. */
  route?: RouteState;
}

export interface StepInput {
  type: 'step';
  step: StepName;
  observation: Observation;
}

export interface Decision {
  release: Release;
  workload: Workload;
  commands: Command[];
}

interface Change {
  phase?: Phase;
  reason?: string | null;
  /** When to look again; null: nothing scheduled (waits for a human or ended). */
  wakeIn?: number | null;
  cause?: string;
  patch?: Partial<Release>;
}

/** Applies a change: new phase (recorded in history), seq + 1, the next wake-up. */
export function advance(
  release: Release,
  now: number,
  change: Change,
  commands: Command[] = [],
  extraHistory: Partial<Release['history'][number]> = {},
): Release {
  const phase = change.phase ?? release.phase;
  const seq = release.seq + 1;
  const next: Release = {
    ...release,
    ...change.patch,
    phase,
    seq,
    updatedAt: now,
    phaseSince: phase === release.phase ? release.phaseSince : now,
    reason: change.reason === undefined ? release.reason : change.reason,
    lease: null,
  };
  const wakeIn = change.wakeIn === undefined ? null : change.wakeIn;
  if (isTerminal(phase)) {
    next.wake = next.cleanup ? { step: 'rollback', at: next.cleanup.at, seq } : null;
  } else {
    next.wake = wakeIn === null ? null : { step: stepFor(phase), at: now + wakeIn, seq };
  }
  // The history records changes: a phase, commands, or a new reason (not the same wait again).
  if (phase !== release.phase || commands.length > 0 || (change.reason && change.reason !== release.reason)) {
    next.history = [
      ...release.history,
      {
        at: now,
        from: release.phase,
        to: phase,
        cause: change.cause ?? 'step',
        ...(change.reason ? { reason: change.reason } : {}),
        ...(commands.length ? { commands: commands.map(describeCommand) } : {}),
        ...extraHistory,
      },
    ];
  }
  return next;
}

function stepFor(phase: Phase): StepName {
  switch (phase) {
    case 'Pending':
    case 'Adopting':
    case 'DeployingGreen':
      return 'deploy-green';
    case 'PrePromotionAnalysis':
    case 'AwaitingPromotion':
    case 'PostPromotionAnalysis':
    case 'Progressing':
      return 'analyze';
    case 'Switching':
      return 'switch';
    case 'ScalingDown':
      return 'scale-down';
    default:
      return 'rollback';
  }
}

/** The Kubernetes revision spec of a template for this release. */
function revisionSpec(
  target: EngineTarget,
  release: Release,
  template: PodTemplate,
  replicas: number,
): RevisionSpec {
  return {
    namespace: target.spec.namespace,
    workload: target.spec.workload,
    revision: revisionOf(template),
    template,
    replicas,
    progressDeadlineSeconds: target.spec.progressDeadlineSeconds,
    releaseId: release.id,
    target: target.name,
  };
}

function imageOf(template: PodTemplate, repository: string): string {
  const containers = template.spec?.containers ?? [];
  const own = containers.find(
    (c) => (c.image ?? '').startsWith(`${repository}@`) || (c.image ?? '').startsWith(`${repository}:`),
  );
  return own?.image ?? containers[0]?.image ?? '';
}

const ready = (counts: EndpointCounts | undefined, revision: string) =>
  counts?.readyByRevision[revision] ?? 0;
const listed = (counts: EndpointCounts | undefined, revision: string) =>
  counts?.totalByRevision[revision] ?? 0;

/** Builds decisions that keep `workload` unless told otherwise (every decide function's `keep`). */
export function keeper(workload: Workload) {
  return (release: Release, w: Workload = workload, commands: Command[] = []): Decision => ({
    release,
    workload: w,
    commands,
  });
}

/** Decides what a step does with the release, given what it observed in the cluster. */
export function decideStep(
  target: EngineTarget,
  release: Release,
  workload: Workload,
  input: StepInput,
  now: number,
): Decision {
  const keep = keeper(workload);
  if (isTerminal(release.phase)) return decideCleanup(release, workload, now);
  const bg = strategyOf(target);
  const obs = input.observation;
  const snap = obs.snapshot;
  const deadline = release.phaseSince + target.spec.progressDeadlineSeconds * 1000;
  const overdue = now >= deadline;
  const fail = (reason: string) =>
    keep(advance(release, now, { phase: 'Failed', reason }), endFor(workload, release));
  const wait = (reason: string | null, wakeIn = poll(release, now)) =>
    keep(advance(release, now, { reason: reason ?? release.reason, wakeIn }));

  // A paused release holds still (rollbacks are never paused).
  if (release.paused && release.phase !== 'RollingBack') return keep(release);

  for (const service of [bg.activeService, bg.previewService]) {
    if (service && snap.services[service] === null && release.phase !== 'RollingBack') {
      return fail(
        `Service "${service}" not found in namespace "${target.spec.namespace}": create it or fix the target's blueGreen services`,
      );
    }
  }

  switch (release.phase) {
    case 'Pending': {
      if (workload.inFlight && workload.inFlight !== release.id) {
        return wait(`waiting for release ${workload.inFlight} to finish`, 2 * pollMs);
      }
      const w = {
        ...workload,
        inFlight: release.id,
        queued: workload.queued === release.id ? null : workload.queued,
      };
      if (release.undoTo) {
        const blue = workload.stable;
        const blueStatus = blue ? snap.revisions[blue.revision] : undefined;
        if (!blue || !blueStatus?.exists) return fail('undo: there is no stable revision to leave');
        if (!snap.revisions[release.undoTo.revision]?.exists) {
          return fail(
            `undo: revision ${release.undoTo.deployment} no longer exists; release its image again instead`,
          );
        }
        const full = Math.max(1, blueStatus.desired);
        return keep(
          advance(release, now, {
            phase: 'Switching',
            reason: `undo: back to ${release.undoTo.deployment}`,
            wakeIn: 0,
            patch: { blue, green: release.undoTo, replicas: full },
          }),
          { ...w, inFlightGreen: release.undoTo.deployment },
        );
      }
      if (!workload.stable) {
        const plain = snap.plainDeployment;
        if (!plain) {
          return fail(
            `nothing to release into: no Deployment "${target.spec.workload}" to adopt in namespace ` +
              `"${target.spec.namespace}" and no stable revision; deploy the workload once as a plain Deployment`,
          );
        }
        const template = plain.template;
        const spec = revisionSpec(target, release, template, plain.replicas);
        const revision: RevisionRef = {
          revision: spec.revision,
          deployment: deploymentName(target.spec.workload, spec.revision),
          image: imageOf(template, target.spec.image.repository),
        };
        const commands: Command[] = [{ type: 'EnsureRevision', spec }];
        return keep(
          advance(
            release,
            now,
            {
              phase: 'Adopting',
              reason: `adopting Deployment ${plain.name} as revision ${revision.revision}`,
              wakeIn: poll(release, now),
              patch: { adoption: { deployment: plain.name, replicas: plain.replicas, revision } },
            },
            commands,
          ),
          w,
          commands,
        );
      }
      const blue = workload.stable;
      const blueStatus = snap.revisions[blue.revision];
      if (!blueStatus?.exists) {
        return fail(
          `the stable revision ${blue.deployment} is missing from namespace "${target.spec.namespace}"`,
        );
      }
      let template: PodTemplate;
      try {
        template = greenTemplate(
          blueStatus.template,
          release.image,
          target.spec.containers,
          target.spec.image.repository,
          release.restartedAt,
        );
      } catch (err) {
        return fail(err instanceof Error ? err.message : String(err));
      }
      // The stable revision's current size: what its HPA (if any) has scaled it to.
      const full = Math.max(1, blueStatus.desired);
      const spec = revisionSpec(target, release, template, bg.previewReplicaCount ?? full);
      const green: RevisionRef = {
        revision: spec.revision,
        deployment: deploymentName(target.spec.workload, spec.revision),
        image: release.image,
      };
      if (green.revision === blue.revision) {
        return keep(
          advance(release, now, {
            phase: 'Succeeded',
            reason: `revision ${green.revision} is already stable`,
          }),
          endFor(w, release),
        );
      }
      const commands: Command[] = [{ type: 'EnsureRevision', spec }];
      if (bg.previewService)
        commands.push({ type: 'SelectRevision', service: bg.previewService, revision: green.revision });
      return keep(
        advance(
          release,
          now,
          {
            phase: 'DeployingGreen',
            reason: null,
            wakeIn: poll(release, now),
            patch: { blue, green, replicas: full },
          },
          commands,
        ),
        { ...w, inFlightGreen: green.deployment },
        commands,
      );
    }

    case 'Adopting': {
      const adoption = release.adoption!;
      const r0 = adoption.revision;
      const status = snap.revisions[r0.revision];
      const active = obs.endpoints[bg.activeService];
      if (!status?.exists || status.ready < adoption.replicas) {
        if (status?.progressDeadlineExceeded || overdue) {
          // Scaled to zero rather than deleted: the Service still selects every pod of the workload.
          const commands: Command[] = [{ type: 'ScaleRevision', deployment: r0.deployment, replicas: 0 }];
          return keep(
            advance(
              release,
              now,
              {
                phase: 'Failed',
                reason: `adoption failed: revision ${r0.deployment} did not become ready within ${target.spec.progressDeadlineSeconds} s; ${adoption.deployment} keeps serving`,
              },
              commands,
            ),
            endFor(workload, release),
            commands,
          );
        }
        return wait(`waiting for ${r0.deployment}: ${status?.ready ?? 0}/${adoption.replicas} ready`);
      }
      const selector = snap.services[bg.activeService]?.selector ?? {};
      if (selector['switchyard.dev/revision'] !== r0.revision) {
        const commands: Command[] = [
          { type: 'SelectRevision', service: bg.activeService, revision: r0.revision },
        ];
        if (bg.previewService)
          commands.push({ type: 'SelectRevision', service: bg.previewService, revision: r0.revision });
        commands.push({ type: 'MoveHpa', from: adoption.deployment, to: r0.deployment });
        return keep(advance(release, now, { wakeIn: poll(release, now) }, commands), workload, commands);
      }
      // The plain Deployment's pods must have left the active Service before it is scaled down.
      if (ready(active, r0.revision) < adoption.replicas || listed(active, '') > 0) {
        return wait(`waiting for ${bg.activeService} to list only ${r0.deployment}`);
      }
      const commands: Command[] = [
        { type: 'ScalePlainDeployment', deployment: adoption.deployment, replicas: 0 },
      ];
      return keep(
        advance(
          release,
          now,
          { phase: 'Pending', reason: `adopted ${adoption.deployment} as ${r0.deployment}`, wakeIn: 0 },
          commands,
        ),
        { ...workload, stable: r0 },
        commands,
      );
    }

    case 'DeployingGreen':
    case 'Progressing':
    case 'AwaitingPromotion':
    case 'Switching':
    case 'RollingBack':
      if (target.spec.strategy.canary) {
        return decideCanary(target, target.spec.strategy.canary, release, workload, obs, now);
      }
      return decideBlueGreen(target, release, workload, obs, now);

    default:
      return decideBlueGreen(target, release, workload, obs, now);
  }
}

/** The blue-green phases from the moment green exists. */
function decideBlueGreen(
  target: EngineTarget,
  release: Release,
  workload: Workload,
  obs: Observation,
  now: number,
): Decision {
  const keep = keeper(workload);
  const bg = strategyOf(target);
  const snap = obs.snapshot;
  const deadline = release.phaseSince + target.spec.progressDeadlineSeconds * 1000;
  const overdue = now >= deadline;
  const rollBack = (reason: string, patch: Partial<Release> = {}) =>
    keep(
      advance(release, now, {
        phase: 'RollingBack',
        reason,
        wakeIn: 0,
        patch: { ...patch, rollbackOutcome: 'RolledBack' },
      }),
    );
  const wait = (reason: string | null, wakeIn = poll(release, now)) =>
    keep(advance(release, now, { reason: reason ?? release.reason, wakeIn }));

  switch (release.phase) {
    case 'DeployingGreen': {
      const green = release.green!;
      const status = snap.revisions[green.revision];
      const wanted = bg.previewReplicaCount ?? release.replicas;
      if (status?.progressDeadlineExceeded || overdue) {
        return rollBack(
          `green revision ${green.deployment} did not become ready within ${target.spec.progressDeadlineSeconds} s (${status?.ready ?? 0}/${wanted} ready)`,
        );
      }
      if (!status?.exists || status.ready < wanted) {
        return wait(`waiting for ${green.deployment}: ${status?.ready ?? 0}/${wanted} ready`);
      }
      return keep(advance(release, now, { phase: 'PrePromotionAnalysis', reason: null, wakeIn: 0 }));
    }

    case 'PrePromotionAnalysis': {
      const green = release.green!;
      const wanted = bg.previewReplicaCount ?? release.replicas;
      const readyNow = bg.previewService
        ? ready(obs.endpoints[bg.previewService], green.revision)
        : (snap.revisions[green.revision]?.ready ?? 0);
      if (readyNow < wanted) {
        if (overdue) return rollBack(`green revision ${green.deployment} lost readiness before promotion`);
        return wait(`waiting for ${wanted} ready endpoints of ${green.deployment}`);
      }
      const pre = analysisStep(target, release, 'pre', bg.prePromotionAnalysis, obs, now);
      if (pre.kind === 'waiting') return keep(pre.release);
      if (pre.kind === 'failed') return rollBack(pre.reason, pre.patch);
      if (pre.kind === 'inconclusive') {
        return keep(
          advance(release, now, {
            phase: 'AwaitingPromotion',
            reason: pre.reason,
            wakeIn: null,
            cause: 'analysis',
            patch: pre.patch,
          }),
        );
      }
      if (pre.kind === 'passed') release = { ...release, ...pre.patch };
      if (!bg.autoPromotionEnabled) {
        return keep(
          advance(release, now, {
            phase: 'AwaitingPromotion',
            reason: 'waiting for promote',
            wakeIn: null,
            cause: 'readiness',
          }),
        );
      }
      if (bg.autoPromotionSeconds !== undefined && bg.autoPromotionSeconds > 0) {
        return keep(
          advance(release, now, {
            phase: 'AwaitingPromotion',
            reason: `promoting automatically in ${bg.autoPromotionSeconds} s`,
            wakeIn: bg.autoPromotionSeconds * 1000,
            cause: 'readiness',
          }),
        );
      }
      return keep(advance(release, now, { phase: 'Switching', reason: null, wakeIn: 0, cause: 'readiness' }));
    }

    case 'AwaitingPromotion': {
      const due =
        bg.autoPromotionEnabled && bg.autoPromotionSeconds !== undefined
          ? release.phaseSince + bg.autoPromotionSeconds * 1000
          : null;
      if (due !== null && now >= due) {
        return keep(
          advance(release, now, {
            phase: 'Switching',
            reason: 'autoPromotionSeconds elapsed',
            wakeIn: 0,
            cause: 'timer',
          }),
        );
      }
      return keep(release);
    }

    case 'Switching': {
      const green = release.green!;
      const blue = release.blue!;
      const status = snap.revisions[green.revision];
      const full = release.replicas;
      if (!status?.exists) return rollBack(`green revision ${green.deployment} disappeared`);
      if (status.desired < full) {
        const commands: Command[] = [{ type: 'ScaleRevision', deployment: green.deployment, replicas: full }];
        return keep(
          advance(
            release,
            now,
            { reason: `scaling ${green.deployment} to ${full}`, wakeIn: poll(release, now) },
            commands,
          ),
          workload,
          commands,
        );
      }
      const selector = snap.services[bg.activeService]?.selector ?? {};
      const switched = selector['switchyard.dev/revision'] === green.revision;
      if (!switched) {
        if (status.ready < full) {
          if (status.progressDeadlineExceeded || overdue) {
            return rollBack(`green revision ${green.deployment} did not reach ${full} ready replicas`);
          }
          return wait(`waiting for ${green.deployment}: ${status.ready}/${full} ready`);
        }
        const commands: Command[] = [
          { type: 'SelectRevision', service: bg.activeService, revision: green.revision },
          { type: 'MoveHpa', from: blue.deployment, to: green.deployment },
        ];
        return keep(
          advance(
            release,
            now,
            {
              reason: `switched ${bg.activeService} to ${green.revision}`,
              wakeIn: poll(release, now),
              patch: { switchedAt: now },
            },
            commands,
          ),
          {
            ...workload,
            stable: green,
            previous: [
              blue,
              ...workload.previous.filter(
                (p) => p.revision !== blue.revision && p.revision !== green.revision,
              ),
            ],
          },
          commands,
        );
      }
      const active = obs.endpoints[bg.activeService];
      if (ready(active, green.revision) < full) {
        if (overdue)
          return rollBack(`${bg.activeService} never listed ${full} ready endpoints of ${green.deployment}`);
        return wait(`waiting for ${bg.activeService} to list ${full} ready endpoints of ${green.deployment}`);
      }
      if (bg.postPromotionAnalysis) {
        return keep(
          advance(release, now, {
            phase: 'PostPromotionAnalysis',
            reason: null,
            wakeIn: 0,
            patch: { switchedAt: release.switchedAt ?? now },
          }),
        );
      }
      return keep(
        advance(release, now, {
          phase: 'ScalingDown',
          reason: null,
          wakeIn: bg.scaleDownDelaySeconds * 1000,
          patch: { switchedAt: release.switchedAt ?? now },
        }),
      );
    }

    case 'ScalingDown': {
      const blue = release.blue!;
      const due = (release.switchedAt ?? release.phaseSince) + bg.scaleDownDelaySeconds * 1000;
      if (now < due) return keep(advance(release, now, { wakeIn: due - now }));
      if (listed(obs.endpoints[bg.activeService], blue.revision) > 0) {
        return wait(`waiting for ${bg.activeService} to stop listing ${blue.deployment}`);
      }
      const commands: Command[] = [{ type: 'ScaleRevision', deployment: blue.deployment, replicas: 0 }];
      return keep(
        advance(release, now, { phase: 'Succeeded', reason: null }, commands),
        endFor(workload, release),
        commands,
      );
    }

    case 'RollingBack':
      return decideRollback(target, release, workload, obs, now);

    case 'PostPromotionAnalysis': {
      const post = analysisStep(target, release, 'post', bg.postPromotionAnalysis, obs, now);
      if (post.kind === 'waiting') return keep(post.release);
      // Blue is still warm: a failed check sends traffic back to it.
      if (post.kind === 'failed') return rollBack(post.reason, post.patch);
      if (post.kind === 'inconclusive') {
        return keep(
          advance(release, now, {
            reason: post.reason,
            cause: 'analysis',
            patch: { ...post.patch, paused: true },
          }),
        );
      }
      const patch = post.kind === 'passed' ? post.patch : {};
      const due = (release.switchedAt ?? now) + bg.scaleDownDelaySeconds * 1000;
      return keep(
        advance(release, now, { phase: 'ScalingDown', reason: null, wakeIn: Math.max(0, due - now), patch }),
      );
    }

    default:
      return keep(release);
  }
}

type AnalysisOutcome =
  /** No analysis configured. */
  | { kind: 'none' }
  | { kind: 'waiting'; release: Release }
  | { kind: 'passed'; patch: Partial<Release> }
  | { kind: 'failed' | 'inconclusive'; reason: string; patch: Partial<Release> };

/** The facts of a release that analysis templates may use as {{release.NAME}}. */
export function factsOf(target: EngineTarget, release: Release): ReleaseFacts {
  const bg = strategyOf(target);
  return {
    id: release.id,
    namespace: target.spec.namespace,
    workload: target.spec.workload,
    activeService: bg.activeService,
    previewService: bg.previewService ?? '',
    greenRevision: release.green?.revision ?? '',
    greenDeployment: release.green?.deployment ?? '',
    blueRevision: release.blue?.revision ?? '',
    image: release.image,
  };
}

/**
 * One step of a pre- or post-promotion analysis: starts the run, records the measurements the step
 * took, and says whether the release waits, goes on, rolls back or pauses for a human.
 */
function analysisStep(
  target: EngineTarget,
  release: Release,
  kind: 'pre' | 'post',
  ref: AnalysisRef | undefined,
  obs: Observation,
  now: number,
): AnalysisOutcome {
  if (!ref) return { kind: 'none' };
  const label = kind === 'pre' ? 'pre-promotion analysis' : 'post-promotion analysis';
  const withRun = (run: NonNullable<Release['analysis']['pre']>): Partial<Release> => ({
    analysis: { ...release.analysis, [kind]: run },
  });
  let run = release.analysis[kind];
  if (!run) {
    const specs = resolveAnalysis(ref, target.spec.analysis?.templates ?? [], factsOf(target, release));
    if ('error' in specs) return { kind: 'failed', reason: `${label}: ${specs.error}`, patch: {} };
    run = startRun(kind, specs, now);
  } else if (run.phase === 'Running') {
    run = advanceRun(run, obs.measurements?.[kind] ?? {}, now);
  }
  switch (run.phase) {
    case 'Running': {
      const due = nextDue(run) ?? now;
      return {
        kind: 'waiting',
        release: advance(release, now, {
          reason: `${label} running`,
          wakeIn: Math.max(0, due - now),
          patch: withRun(run),
        }),
      };
    }
    case 'Successful':
      return { kind: 'passed', patch: withRun(run) };
    case 'Failed':
      return { kind: 'failed', reason: `${label} failed: ${run.message}`, patch: withRun(run) };
    case 'Inconclusive':
      return {
        kind: 'inconclusive',
        reason: `${label} inconclusive: ${run.message}; promote to go on or abort`,
        patch: withRun(run),
      };
  }
}

/** Traffic back on blue (scaled up first if needed), then green removed. */
function decideRollback(
  target: EngineTarget,
  release: Release,
  workload: Workload,
  obs: Observation,
  now: number,
): Decision {
  const bg = strategyOf(target);
  const blue = release.blue;
  const green = release.green;
  const snap = obs.snapshot;
  const commands: Command[] = [];
  const outcome: Phase = release.rollbackOutcome ?? 'RolledBack';
  let w = workload;
  if (blue && green) {
    const selector = snap.services[bg.activeService]?.selector ?? {};
    if (selector['switchyard.dev/revision'] !== blue.revision) {
      const blueStatus = snap.revisions[blue.revision];
      if (!blueStatus || blueStatus.desired < release.replicas) {
        commands.push({ type: 'ScaleRevision', deployment: blue.deployment, replicas: release.replicas });
        return {
          release: advance(release, now, { wakeIn: poll(release, now) }, commands),
          workload,
          commands,
        };
      }
      if (blueStatus.ready < release.replicas) {
        return { release: advance(release, now, { wakeIn: poll(release, now) }), workload, commands };
      }
      commands.push(
        { type: 'SelectRevision', service: bg.activeService, revision: blue.revision },
        { type: 'MoveHpa', from: green.deployment, to: blue.deployment },
      );
      w = {
        ...workload,
        stable: blue,
        previous: workload.previous.filter((p) => p.revision !== blue.revision),
      };
      return {
        release: advance(release, now, { wakeIn: poll(release, now) }, commands),
        workload: w,
        commands,
      };
    }
    if (
      bg.previewService &&
      snap.services[bg.previewService]?.selector['switchyard.dev/revision'] === green.revision
    ) {
      commands.push({ type: 'SelectRevision', service: bg.previewService, revision: blue.revision });
    }
    if (outcome === 'Aborted') {
      const at = now + bg.abortScaleDownDelaySeconds * 1000;
      return {
        release: advance(
          release,
          now,
          {
            phase: 'Aborted',
            patch: { cleanup: { deployment: green.deployment, at, action: 'scale-down' } },
          },
          commands,
        ),
        workload: endFor(w, release),
        commands,
      };
    }
    commands.push({ type: 'DeleteRevision', deployment: green.deployment });
  }
  return {
    release: advance(release, now, { phase: outcome }, commands),
    workload: endFor(w, release),
    commands,
  };
}

/** A release that ended with work left on its green revision (abort, supersede) does it when due. */
function decideCleanup(release: Release, workload: Workload, now: number): Decision {
  const cleanup = release.cleanup;
  if (!cleanup || now < cleanup.at) return { release, workload, commands: [] };
  // Never touch what serves or what another release is working with: leave it to the sweep.
  const inUse =
    workload.stable?.deployment === cleanup.deployment || workload.inFlightGreen === cleanup.deployment;
  const commands: Command[] = inUse
    ? []
    : cleanup.action === 'delete'
      ? [{ type: 'DeleteRevision', deployment: cleanup.deployment }]
      : [{ type: 'ScaleRevision', deployment: cleanup.deployment, replicas: 0 }];
  // A superseded canary may still have weight on its revision: routes go back to stable first, so
  // no weight ever points at a revision that is going away.
  if (!inUse && release.canary && release.blue && release.phase === 'Superseded') {
    commands.unshift({ type: 'FinalizeRouter', stableRevision: release.blue.revision });
  }
  const reason = inUse ? `left ${cleanup.deployment} in place: it is in use` : (release.reason ?? undefined);
  return {
    release: advance(
      release,
      now,
      { reason: reason ?? null, cause: 'cleanup', patch: { cleanup: null } },
      commands,
    ),
    workload,
    commands,
  };
}

/** The workload once `release` has ended. */
export function endFor(workload: Workload, release: Release): Workload {
  return workload.inFlight === release.id
    ? { ...workload, inFlight: null, inFlightGreen: null, gcPending: true }
    : workload;
}
