// The invariants, each recorded as a Violation the moment it breaks: (ii) no command takes down what
// a serving Service depends on (checked as every command is issued), (i) every Service that carries
// traffic has ready endpoints of a scaled-up backend (after every event), and the end state after
// the drain (the record agrees with the cluster, full capacity, no leaked replicas).
import { type Command, describeCommand } from '../commands.ts';
import type { ModelRouterContext } from './cluster-objects.ts';
import type { SystemState } from './state.ts';

/**
 * Issues a command on the model cluster. (ii) A scale-down or delete of what serves is a
 * violation when the engine asked for it knowingly (it was unsafe on the cluster the step decided
 * on too) or when the guard lets it through; one decided on an older cluster, or by the sweep
 * (which reads no EndpointSlices and leaves draining to the guard), refused by the guard is the
 * guard at work.
 */
export function issue(
  sys: SystemState,
  command: Command,
  ctx: ModelRouterContext | null,
  by: string,
  unsafeWhenDecided: string | null = null,
): void {
  // Unsafe now and when decided (the step's own earlier commands did not make it safe): asked
  // knowingly. Unsafe only now: the guard must refuse it.
  const now = takesDownServing(sys, command);
  if (now && unsafeWhenDecided)
    sys.violate('scale-down-serving', `${by} issued ${describeCommand(command)} while ${now}`);
  sys.note(() => `${by}: ${describeCommand(command)}`);
  sys.cluster.apply(command, ctx);
  if (now && !unsafeWhenDecided)
    sys.violate(
      'scale-down-serving',
      `${by}: ${describeCommand(command)} went through the guard while ${now}`,
    );
  sys.lastWrite = `${describeCommand(command)} by ${by}`;
  sys.cluster.settle();
}

// ---- (ii): scale-downs and deletes -------------------------------------------------------------

/** Why `command` would take down what serves on the cluster as it is now (null: it would not). */
export function takesDownServing(sys: SystemState, command: Command): string | null {
  const c = sys.cluster;
  const revisionByName = (name: string) => c.backends().find((b) => b.key !== '' && b.deployment === name);
  let key: string | undefined;
  switch (command.type) {
    case 'ScaleRevision': {
      const b = revisionByName(command.deployment);
      if (b && command.replicas < b.desired) key = b.key;
      break;
    }
    // EnsureRevision only ever scales an existing revision up (the adapter's rule), so it takes
    // nothing down whatever it asks.
    case 'ScalePlainDeployment':
      if (c.plain && command.replicas < c.plain.desired) key = '';
      break;
    case 'DeleteRevision':
      key = revisionByName(command.deployment)?.key;
      break;
    default:
      return null;
  }
  if (key === undefined) return null;
  return c.protection(key)?.why ?? null;
}

// ---- (i): what serves has ready endpoints ------------------------------------------------------

/** Recorded when a Service goes without endpoints (not again while the outage lasts). */
export function checkServing(sys: SystemState): void {
  const c = sys.cluster;
  const serving = c.servingServices();
  for (const s of serving) {
    if (c.effectiveReady(s) > 0) {
      sys.outage.delete(s);
      continue;
    }
    if (sys.outage.has(s)) continue;
    sys.outage.add(s);
    const rev = c.selectors.get(s)?.['switchyard.dev/revision'];
    const listing = [...(c.listed.get(s) ?? new Map())]
      .map(([k, l]) => `${sys.backendName(k)} ${l.ready}/${l.total}`)
      .join(', ');
    sys.violate(
      'no-serving-endpoints',
      `${s} carries traffic but has no ready endpoint of a scaled-up backend (it selects ${rev ? sys.alias(rev) : 'the whole workload'}, its EndpointSlices list ${listing || 'nothing'}; last write: ${sys.lastWrite})`,
    );
  }
  for (const s of sys.outage) if (!serving.includes(s)) sys.outage.delete(s);
}

// ---- the end state ---------------------------------------------------------------------------

/** Once everything has ended: the record agrees with the cluster, and nothing is left behind. */
export function checkEndState(sys: SystemState): void {
  const c = sys.cluster;
  const w = sys.workload;
  const active = c.selectors.get(c.activeService) ?? {};
  const selected = active['switchyard.dev/revision'];
  const name = (rev: string | undefined) => (rev === undefined ? 'the whole workload' : sys.alias(rev));
  if ((w.stable?.revision ?? undefined) !== selected) {
    sys.violate(
      'record-mismatch',
      `the workload record says stable ${w.stable ? sys.alias(w.stable.revision) : '(none)'} but ${c.activeService} selects ${name(selected)}`,
    );
    return;
  }
  const serving = w.stable ? w.stable.deployment : 'api';
  if (c.hpa && c.hpa.target !== serving) {
    sys.violate(
      'record-mismatch',
      `the HPA targets ${sys.readable(c.hpa.target)}, not the serving ${sys.readable(serving)}`,
    );
  }
  const servingBackend = c.backend(selected ?? '');
  if (!servingBackend || servingBackend.desired < sys.scenario.replicas) {
    sys.violate(
      'capacity',
      `${c.activeService} serves ${name(selected)} with ${servingBackend?.desired ?? 0} replicas, not ${sys.scenario.replicas}`,
    );
  }
  for (const b of c.backends()) {
    if (b.key !== (selected ?? '') && b.desired > 0) {
      sys.violate(
        'leak',
        `${sys.backendName(b.key)} keeps ${b.desired} replicas though nothing serves from it`,
      );
    }
  }
}
