// Adoption (SPEC §4): the first revision r0 is made from the plain Deployment's template, the
// Services narrow to r0 once it is ready, and the plain Deployment is scaled to zero once the active
// Service lists only r0. From the moment a Service names r0, r0 serves and is never scaled down: an
// adoption that lapses then gives the Services their old selectors back first, and r0 goes only once
// the plain Deployment's pods take the traffic again. Pure.
import { deploymentName } from '../kubernetes/revision.ts';
import type { RevisionStatus, WorkloadSnapshot } from '../kubernetes/types.ts';
import type { Command } from './commands.ts';
import {
  act,
  type Decision,
  endFor,
  fail,
  go,
  listed,
  overdue,
  poll,
  ready,
  revisionSpec,
  type StepContext,
  selectedRevision,
  wait,
} from './kernel.ts';
import type { PodTemplate, Release, RevisionRef, Workload } from './release.ts';
import { strategyOf } from './target.ts';

/**
 * Pending without a stable revision: adopts the plain Deployment, its template making the first
 * revision (r0). `workload` is the record with this release in flight.
 */
export function startAdoption(ctx: StepContext, workload: Workload): Decision {
  const { target, release, now } = ctx;
  const snap = ctx.obs.snapshot;
  const plain = snap.plainDeployment;
  if (!plain) {
    return fail(
      ctx,
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
  const bg = strategyOf(target);
  const adoption = {
    deployment: plain.name,
    replicas: plain.replicas,
    revision,
    selectors: selectorsOf(snap, [bg.activeService, bg.previewService]),
  };
  const commands: Command[] = [{ type: 'EnsureRevision', spec }];
  const reason = `adopting Deployment ${plain.name} as revision ${revision.revision}`;
  return go(
    ctx,
    { phase: 'Adopting', reason, wakeIn: poll(release, now), patch: { adoption } },
    commands,
    workload,
  );
}

function imageOf(template: PodTemplate, repository: string): string {
  const containers = template.spec?.containers ?? [];
  const own = containers.find(
    (c) => (c.image ?? '').startsWith(`${repository}@`) || (c.image ?? '').startsWith(`${repository}:`),
  );
  return own?.image ?? containers[0]?.image ?? '';
}

/** The selectors of the named Services that exist, by Service. */
function selectorsOf(snap: WorkloadSnapshot, services: (string | undefined)[]) {
  const out: Record<string, Record<string, string>> = {};
  for (const s of services) {
    const selector = s ? snap.services[s]?.selector : undefined;
    if (s && selector) out[s] = selector;
  }
  return out;
}

/** An adoption under way, as one pass sees it. */
interface Adopting extends StepContext {
  adoption: NonNullable<Release['adoption']>;
  r0: RevisionRef;
  status: RevisionStatus | undefined;
  active: string;
  /** The Services to narrow (active, then preview). */
  services: string[];
  /** Those that name r0 already. */
  narrowed: string[];
}

/** Adopting: narrows the Services to r0, then scales the plain Deployment down; or undoes it all. */
export function decideAdoption(ctx: StepContext): Decision {
  const a = adoptingOf(ctx);
  const lapsed = a.adoption.aborted || a.status?.progressDeadlineExceeded || overdue(ctx);
  return adoptedAlready(a) ?? (lapsed ? undoAdoption(a) : proceed(a));
}

function proceed(a: Adopting): Decision {
  return narrowServices(a) ?? plainDrained(a) ?? plainScaledDown(a);
}

function adoptingOf(ctx: StepContext): Adopting {
  const bg = strategyOf(ctx.target);
  const adoption = ctx.release.adoption!;
  const r0 = adoption.revision;
  const services = [bg.activeService, ...(bg.previewService ? [bg.previewService] : [])];
  const narrowed = services.filter((s) => selectedRevision(ctx.obs.snapshot, s) === r0.revision);
  const status = ctx.obs.snapshot.revisions[r0.revision];
  return { ...ctx, adoption, r0, status, active: bg.activeService, services, narrowed };
}

/**
 * Finished already (the pass that scaled the plain Deployment down lost its commit): every Service
 * names r0, r0 is up and the plain Deployment is at zero.
 */
function adoptedAlready(a: Adopting): Decision | null {
  const plainDown = (a.obs.snapshot.plainDeployment?.replicas ?? 0) === 0;
  const done = a.narrowed.length === a.services.length && plainDown && (a.status?.ready ?? 0) > 0;
  if (a.adoption.aborted || !done) return null;
  const reason = `adopted ${a.adoption.deployment} as ${a.r0.deployment}`;
  return go(a, { phase: 'Pending', reason, wakeIn: 0 }, [], { ...a.workload, stable: a.r0 });
}

function narrowServices(a: Adopting): Decision | null {
  const { adoption, r0, status } = a;
  if (a.narrowed.length === a.services.length) return null;
  if (!status?.exists || status.ready < adoption.replicas) {
    return wait(a, `waiting for ${r0.deployment}: ${status?.ready ?? 0}/${adoption.replicas} ready`);
  }
  const commands: Command[] = a.services
    .filter((s) => !a.narrowed.includes(s))
    .map((service) => ({ type: 'SelectRevision', service, revision: r0.revision }));
  commands.push({ type: 'MoveHpa', from: adoption.deployment, to: r0.deployment });
  return act(a, commands, `narrowing ${a.services.join(', ')} to ${r0.revision}`);
}

/**
 * The plain Deployment's pods must have left the active Service before it is scaled down; r0 may
 * have been resized by its HPA since, so its own size is what the Service must list.
 */
function plainDrained(a: Adopting): Decision | null {
  const active = a.obs.endpoints[a.active];
  const want = Math.max(1, Math.min(a.adoption.replicas, a.status?.desired ?? 0));
  if (!(ready(active, a.r0.revision) < want || listed(active, '') > 0)) return null;
  return wait(a, `waiting for ${a.active} to list only ${a.r0.deployment}`);
}

function plainScaledDown(a: Adopting): Decision {
  const { adoption, r0 } = a;
  const commands: Command[] = [
    { type: 'ScalePlainDeployment', deployment: adoption.deployment, replicas: 0 },
  ];
  const reason = `adopted ${adoption.deployment} as ${r0.deployment}`;
  return go(a, { phase: 'Pending', reason, wakeIn: 0 }, commands, { ...a.workload, stable: r0 });
}

/** Why the adoption lapsed, for its record. */
function whyLapsed(a: Adopting): string {
  if (a.adoption.aborted) return 'aborted';
  const problem = a.status?.problem ? ` (${a.status.problem})` : '';
  return `revision ${a.r0.deployment} did not become ready within ${a.target.spec.progressDeadlineSeconds} s${problem}`;
}

/**
 * Undo in the reverse order: the plain Deployment back at its size (a pass whose commit was lost may
 * have scaled it down already), the selectors and the HPA back; r0 goes only once the Service lists
 * the plain pods again, and never while they are gone.
 */
function undoAdoption(a: Adopting): Decision {
  return givenBack(a) ?? plainGone(a) ?? plainNotBack(a) ?? r0Removed(a);
}

function givenBack(a: Adopting): Decision | null {
  const { adoption, r0 } = a;
  const plain = a.obs.snapshot.plainDeployment;
  const plainSize = Math.max(1, adoption.replicas);
  const commands: Command[] = [];
  if (plain && plain.replicas < plainSize)
    commands.push({ type: 'ScalePlainDeployment', deployment: adoption.deployment, replicas: plainSize });
  for (const service of a.narrowed) {
    commands.push({
      type: 'RestoreSelector',
      service,
      selector: adoption.selectors?.[service] ?? { 'app.kubernetes.io/name': a.target.spec.workload },
    });
  }
  if (a.narrowed.length > 0) commands.push({ type: 'MoveHpa', from: r0.deployment, to: adoption.deployment });
  if (commands.length === 0) return null;
  return act(
    a,
    commands,
    `adoption lapsed (${whyLapsed(a)}): giving the Services back to ${adoption.deployment}`,
  );
}

/** Ends the adoption: Aborted when asked, else Failed. */
function endAdoption(a: Adopting, commands: Command[], reason: string, workload: Workload): Decision {
  return go(a, { phase: a.adoption.aborted ? 'Aborted' : 'Failed', reason }, commands, workload);
}

function plainGone(a: Adopting): Decision | null {
  const { adoption, status } = a;
  if (a.obs.snapshot.plainDeployment || !(status?.exists && status.desired > 0)) return null;
  return endAdoption(
    a,
    [],
    `adoption ${adoption.aborted ? 'stopped' : 'failed'}: ${whyLapsed(a)}; Deployment ${adoption.deployment} is gone, so ${a.r0.deployment} keeps serving`,
    { ...endFor(a.workload, a.release), stable: a.r0 },
  );
}

function plainNotBack(a: Adopting): Decision | null {
  const { adoption, status } = a;
  const plain = a.obs.snapshot.plainDeployment;
  const back = Math.min(Math.max(1, adoption.replicas), Math.max(1, plain?.replicas ?? 0));
  const listing = ready(a.obs.endpoints[a.active], '');
  if (!(status?.exists && status.desired > 0 && listing < back)) return null;
  return wait(
    a,
    `adoption lapsed: waiting for ${a.active} to list ${adoption.deployment}'s pods again (${listing}/${back})`,
  );
}

/**
 * The HPA back on the plain Deployment again (idempotent: a pass that restored the selectors may
 * have lost its commit before it moved the HPA), then r0 goes.
 */
function r0Removed(a: Adopting): Decision {
  const { adoption, r0 } = a;
  const scaleDown: Command[] = a.status?.exists
    ? [
        { type: 'MoveHpa', from: r0.deployment, to: adoption.deployment },
        { type: 'ScaleRevision', deployment: r0.deployment, replicas: 0 },
      ]
    : [];
  return endAdoption(
    a,
    scaleDown,
    `adoption ${adoption.aborted ? 'undone' : 'failed'}: ${whyLapsed(a)}; ${adoption.deployment} keeps serving`,
    endFor(a.workload, a.release),
  );
}
