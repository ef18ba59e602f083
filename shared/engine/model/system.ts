// The runtime around the pure engine, as a model for the model-based test (model.test.ts): Firestore
// (releases by id, the workload record, seq and lease), Pub/Sub (a bag of step messages that the
// harness may deliver in any order, late, or twice), control messages, image pushes, the minute
// sweep, model time, and function crashes. It mirrors shared/runtime/{step,push,control,sweep,wake}.ts
// one-for-one as they stand at HEAD: a step whose stored wake has a `pollUntil` horizon and no
// live lease looks without a claim (step.ts look()); a look that sees nothing new writes nothing and
// hands the next look over with the same seq (quietly()); otherwise it claims in a transaction,
// observes, decides, executes with a fence margin on its lease (renewed when half gone), and commits
// if seq and lease are unchanged, writing the workload record only when the decision changed it and
// only if nobody else did since it was read (else the commit is stale). The adapter's serving
// guard's refusals ('in-use') are recorded and retried with backoff, up to maxAttempts in a row.
// Pushes and control commands wait for any lease on the releases they change (claims.ts).
// Not modelled: analysis (no measurements), and HPA scaling (a pointer only).
//
// A step is split into stages the harness advances one at a time, with any other events between:
//   claim or look (a) -> observe + decide (b) -> [claim, after a look that has something to write]
//   -> one command per stage -> commit (c) -> publish the next step.
// A crash may stop it after any stage (its message is redelivered, its lease held until it expires).
//
// Invariants checked here, each recorded as a Violation the moment it breaks:
//   (i)   every Service that carries traffic has ready endpoints of a scaled-up backend (after every event);
//   (ii)  no engine command scales down or deletes a backend a serving Service depends on (when issued,
//         before it is applied; ModelCluster.protection() says what "depends on" means);
//   (iii) after drain() every release ends within its deadlines plus delays;
//   end state after drain(): the workload record names what the active Service selects and the HPA
//         targets it, the serving revision has its full size, nothing else keeps replicas, no push lost.
import { errorKind, retriability } from '../../errors.ts';
import {
  canonicalJson,
  deploymentName,
  greenTemplate,
  revisionDeployment,
  revisionOf,
} from '../../kubernetes/revision.ts';
import type { ControlMessage } from '../../messages.ts';
import type { StepName } from '../../topology.ts';
import { revisionsToRemove, revisionsToScaleDown, servicesToSettle } from '../cleanup.ts';
import { type Command, describeCommand } from '../commands.ts';
import { decideControl } from '../control.ts';
import { decideStep } from '../decide.ts';
import { decidePush, parsePush } from '../intake.ts';
import { advance, endFor } from '../kernel.ts';
import {
  emptyWorkload,
  isTerminal,
  type PodTemplate,
  type Release,
  type RevisionRef,
  type Workload,
} from '../release.ts';
import { type CanaryStrategy, type EngineTarget, servicesOf } from '../target.ts';
import { ModelCluster, ModelGap, type ModelRouterContext, type RouterKind } from './cluster.ts';

// ---- the scenario ------------------------------------------------------------------------------

export interface Scenario {
  strategy: 'blueGreen' | 'canary';
  /** Blue-green: with a preview Service. */
  preview: boolean;
  /** Blue-green: autoPromotionEnabled (auto), off (manual), or autoPromotionSeconds (timed). */
  promotion: 'auto' | 'manual' | 'timed';
  /** Canary: the traffic router. */
  router: RouterKind;
  replicas: number;
  /** plain: a plain Deployment to adopt; adopted: stable r0 only; history: stable v2, r0 kept for undo. */
  start: 'plain' | 'adopted' | 'history';
  /** EndpointSlices lag behind selectors and pods until a sync event. */
  lag: boolean;
  /** An HPA targets the serving Deployment. */
  hpa: boolean;
}

export const repository = 'us-docker.pkg.dev/acme/apps/api';
/** Image v1 … v5 by digest (v1 runs in the plain Deployment). */
export const image = (v: number) => `${repository}@sha256:${String(v).repeat(64)}`;
const tagOf = (img: string) => `v${img.slice(-1)}`;

export const timing = {
  progressDeadlineSeconds: 30,
  scaleDownDelaySeconds: 5,
  abortScaleDownDelaySeconds: 5,
  autoPromotionSeconds: 10,
  pauseSeconds: 10,
  /** Deps.leaseMs, inlineWaitMs, sweepLookaheadMs at their config.ts defaults; sweep.ts overdueMs. */
  leaseMs: 45_000,
  inlineWaitMs: 25_000,
  sweepLookaheadMs: 65_000,
  overdueMs: 3_000,
  sweepEveryMs: 60_000,
};

export function targetFor(s: Scenario): EngineTarget {
  const strategy: EngineTarget['spec']['strategy'] =
    s.strategy === 'blueGreen'
      ? {
          blueGreen: {
            activeService: 'api',
            ...(s.preview ? { previewService: 'api-preview' } : {}),
            autoPromotionEnabled: s.promotion !== 'manual',
            ...(s.promotion === 'timed' ? { autoPromotionSeconds: timing.autoPromotionSeconds } : {}),
            scaleDownDelaySeconds: timing.scaleDownDelaySeconds,
            abortScaleDownDelaySeconds: timing.abortScaleDownDelaySeconds,
          },
        }
      : { canary: canaryStrategy(s.router) };
  return {
    name: 'api',
    generation: 1,
    spec: {
      image: { repository, untagged: 'ignore' },
      cluster: { context: 'model' },
      namespace: 'shop',
      workload: 'api',
      progressDeadlineSeconds: timing.progressDeadlineSeconds,
      // Small, so the sweep's revision GC has work in short runs.
      revisionHistoryLimit: 1,
      strategy,
    },
  };
}

function canaryStrategy(router: RouterKind): CanaryStrategy {
  const steps: CanaryStrategy['steps'] = [
    { setWeight: 20 },
    { pause: {} },
    { setWeight: 50 },
    { pause: { duration: timing.pauseSeconds } },
  ];
  if (router === 'none') steps.push({ setWeight: 100 });
  return {
    stableService: 'api',
    canaryService: 'api-canary',
    steps,
    ...(router === 'gatewayAPI' ? { trafficRouting: { gatewayAPI: { httpRoute: 'api' } } } : {}),
    ...(router === 'nginx' ? { trafficRouting: { nginx: { stableIngress: 'api' } } } : {}),
    scaleDownDelaySeconds: timing.scaleDownDelaySeconds,
    abortScaleDownDelaySeconds: timing.abortScaleDownDelaySeconds,
  };
}

export const plainTemplate = (): PodTemplate => ({
  metadata: { labels: { 'app.kubernetes.io/name': 'api' } },
  spec: { containers: [{ name: 'api', image: image(1) }] },
});

// ---- events --------------------------------------------------------------------------------

export type ControlCommand =
  | 'promote'
  | 'promote-full'
  | 'abort'
  | 'pause'
  | 'resume'
  | 'retry'
  | 'restart'
  | 'undo';

/** One thing that happens. Indexes pick among the candidates of the moment, modulo their number. */
export type Event =
  | { e: 'tick'; ms: number }
  /** Deliver a due step message and run its step to the end. */
  | { e: 'run'; i: number }
  /** Deliver a due step message: the step claims the release (a). */
  | { e: 'deliver'; i: number }
  /** The next stage of a running step: observe + decide, one command, commit, or publish. */
  | { e: 'advance'; i: number }
  /** A running step's function dies; Pub/Sub redelivers its message later. */
  | { e: 'crash'; i: number }
  /** Pub/Sub delivers a message twice. */
  | { e: 'dup'; i: number }
  | { e: 'ready'; i: number }
  | { e: 'unready'; i: number }
  /** One Service's EndpointSlices catch up. */
  | { e: 'sync'; i: number }
  /** The Gateway accepts the HTTPRoute's current generation. */
  | { e: 'accept' }
  | { e: 'push'; v: number }
  | { e: 'control'; c: ControlCommand }
  | { e: 'sweep' }
  /**
   * A spell of normal operation: pods become ready, EndpointSlices and the Gateway catch up, due
   * messages are delivered (time moving on to the next one) and their steps run to the end — for at
   * most `steps` steps and `ms` of model time. Lets short histories reach deep states (a canary at
   * weight 100) and stop anywhere in them before the next adversarial event.
   */
  | { e: 'calm'; ms: number; steps: number };

export function describeEvent(ev: Event): string {
  switch (ev.e) {
    case 'tick':
      return `tick +${ev.ms / 1000}s`;
    case 'accept':
    case 'sweep':
      return ev.e;
    case 'push':
      return `push v${ev.v}`;
    case 'calm':
      return `calm ${ev.steps} steps/${ev.ms / 1000}s`;
    case 'control':
      return ev.c;
    default:
      return `${ev.e} ${ev.i}`;
  }
}

// ---- the state -------------------------------------------------------------------------------

interface StepMsg {
  n: number;
  releaseId: string;
  step: StepName;
  seq: number;
  /** Published when due (the publisher waits until then). */
  at: number;
}

interface RunningStep {
  n: number;
  msg: StepMsg;
  /** 'claimed': claimed or looked (lease null), to observe and decide; 'claim': a look that must claim. */
  stage: 'claimed' | 'claim' | 'executing' | 'commit' | 'publish';
  /** The release as claimed (or as looked at, with lease null). */
  claimed: Release;
  commands: Command[];
  done: number;
  /** The workload record as the step read it (outside any transaction) before deciding. */
  inputWorkload?: Workload;
  next?: Release;
  nextWorkload?: Workload;
  ctx: ModelRouterContext | null;
  /** Why each scale-down of `commands` was already unsafe on the cluster the step decided on. */
  unsafeWhenDecided?: (string | null)[];
}

interface QueuedControl {
  msg: ControlMessage;
}

export interface Violation {
  kind:
    | 'no-serving-endpoints'
    | 'scale-down-serving'
    | 'not-terminal'
    | 'record-mismatch'
    | 'capacity'
    | 'leak'
    | 'lost-push';
  event: number;
  message: string;
}

/** step.ts fenceMarginMs: min(leaseMs / 2, 3 × the Kubernetes client's 5 s request timeout). */
const fenceMarginMs = (leaseMs: number) => Math.min(leaseMs / 2, 3 * 5_000);
/** step.ts maxAttempts. */
const maxAttempts = 10;

/**
 * The fence of a step's cluster writes (step.ts fence()): a write starts only while more than
 * fenceMarginMs of the lease is left. The commit is fenced by its transaction alone (seq and lease
 * owner unchanged). Returns why the step must stop writing now, or null.
 */
export function stepFence(step: { claimed: Release }, now: number): string | null {
  const until = step.claimed.lease?.until ?? 0;
  const margin = fenceMarginMs(timing.leaseMs);
  return now <= until - margin
    ? null
    : `less than ${margin / 1000} s of its lease left (until ${fmtTime(until)})`;
}

/**
 * The fence of a control message (runtime/control.ts; claims.ts, which fences pushes the
 * same way over the live releases): it is applied only when no unexpired lease is held on the
 * release it addresses, nor on a live release it may supersede or undo; otherwise it stays queued
 * and is tried again after later events. Returns why it waits, or null.
 */
export function controlFence(addressed: Release | null, live: Release[], now: number): string | null {
  for (const r of [addressed, ...live]) {
    if (r?.lease && r.lease.until > now) return `${r.id} is leased until ${fmtTime(r.lease.until)}`;
  }
  return null;
}

const fmtTime = (ms: number) => `${(ms / 1000).toFixed(2)}s`;

export class System {
  readonly target: EngineTarget;
  readonly cluster: ModelCluster;
  readonly services: string[];
  now = 0;
  workload: Workload;
  readonly releases = new Map<string, Release>();
  bag: StepMsg[] = [];
  steps: RunningStep[] = [];
  controls: QueuedControl[] = [];
  readonly violations: Violation[] = [];
  readonly trace: string[] = [];
  private eventIndex = 0;
  private counter = 0;
  private readonly aliases = new Map<string, string>();
  private readonly notes: string[] = [];
  /** The last cluster write, named in a serving violation (what left the Service without endpoints). */
  private lastWrite = 'none';
  private readonly outage = new Set<string>();

  readonly scenario: Scenario;
  readonly verbose: boolean;

  /** Pushes waiting for a claimed release (claims.ts); by image version. */
  private pushes: number[] = [];

  constructor(scenario: Scenario, verbose = false) {
    this.scenario = scenario;
    this.verbose = verbose;
    this.target = targetFor(scenario);
    this.services = servicesOf(this.target);
    this.cluster = new ModelCluster({
      namespace: 'shop',
      workload: 'api',
      services: this.services,
      router: scenario.strategy === 'canary' ? scenario.router : null,
      lag: scenario.lag,
    });
    this.workload = emptyWorkload('api');
    this.setUp();
  }

  private setUp(): void {
    const n = this.scenario.replicas;
    const c = this.cluster;
    const plain = plainTemplate();
    c.plain = { name: 'api', desired: n, ready: n, template: plain, adoptedReplicas: null };
    this.alias(revisionOf(plain), 'r0');
    for (let v = 2; v <= 5; v++)
      this.alias(revisionOf(greenTemplate(plain, image(v), undefined, repository)), `r${v}`);
    if (this.scenario.hpa) c.hpa = { target: 'api' };
    if (this.scenario.start === 'plain') {
      c.syncAll();
      return;
    }
    const revision = (template: PodTemplate, v: number, replicas: number): RevisionRef => {
      const rev = revisionOf(template);
      const spec = {
        namespace: 'shop',
        workload: 'api',
        revision: rev,
        template,
        replicas,
        progressDeadlineSeconds: 30,
        releaseId: 'setup',
        target: 'api',
      };
      const d = revisionDeployment(spec);
      c.revisions.set(rev, {
        name: deploymentName('api', rev),
        revision: rev,
        desired: replicas,
        ready: replicas,
        template: d.spec!.template,
      });
      return { revision: rev, deployment: deploymentName('api', rev), image: image(v) };
    };
    c.plain.desired = 0;
    c.plain.ready = 0;
    c.plain.adoptedReplicas = n;
    let stable = revision(plain, 1, n);
    const previous: RevisionRef[] = [];
    if (this.scenario.start === 'history') {
      c.revisions.get(stable.revision)!.desired = 0;
      c.revisions.get(stable.revision)!.ready = 0;
      previous.push(stable);
      stable = revision(greenTemplate(plain, image(2), undefined, repository), 2, n);
    }
    for (const s of this.services) {
      c.selectors.set(s, { 'app.kubernetes.io/name': 'api', 'switchyard.dev/revision': stable.revision });
    }
    if (c.hpa) c.hpa.target = stable.deployment;
    this.workload = { ...this.workload, stable, previous };
    c.syncAll();
  }

  // ---- names in traces ------------------------------------------------------------------------

  private alias(revision: string, name?: string): string {
    let a = this.aliases.get(revision);
    if (!a) {
      a = name ?? `r?${this.aliases.size}`;
      this.aliases.set(revision, a);
    }
    return a;
  }

  /** Revision hashes and deployment names in a text replaced by r0, r2, … (restart revisions r?N). */
  readable(text: string): string {
    return text.replace(/\b[0-9a-f]{10}\b/g, (h) => this.alias(h));
  }

  /** A note for the trace line of the current event (kept only when tracing). */
  private note(text: string | (() => string)): void {
    if (this.verbose) this.notes.push(typeof text === 'string' ? text : text());
  }

  private violate(kind: Violation['kind'], message: string): void {
    const m = this.readable(message);
    this.violations.push({ kind, event: this.eventIndex, message: m });
    this.notes.push(`VIOLATION ${kind}: ${m}`);
  }

  stateLine(): string {
    const rs = [...this.releases.values()]
      .map((r) => {
        const lease = r.lease && r.lease.until > this.now ? ' leased' : '';
        const wake = r.wake ? ` wake ${r.wake.step}@${fmtTime(r.wake.at)}` : '';
        const cleanup = r.cleanup ? ` cleanup@${fmtTime(r.cleanup.at)}` : '';
        return `${r.id} ${r.phase}${r.paused ? '(paused)' : ''} seq ${r.seq}${lease}${wake}${cleanup}`;
      })
      .join('; ');
    const w = this.workload;
    const rec = `stable ${w.stable ? this.alias(w.stable.revision) : '-'} inFlight ${w.inFlight ?? '-'}${w.queued ? ` queued ${w.queued}` : ''}`;
    return this.readable(`${rs || 'no release'} | ${rec} | ${this.cluster.describe((r) => this.alias(r))}`);
  }

  // ---- the event loop -------------------------------------------------------------------------

  /** Runs one event and checks the invariants after it. */
  step(ev: Event): void {
    this.eventIndex += 1;
    this.notes.length = 0;
    this.handle(ev);
    this.afterEvent();
    if (!this.verbose) return;
    const line = `#${this.eventIndex} t=${fmtTime(this.now)} ${describeEvent(ev)}${this.notes.length ? ` → ${this.notes.join('; ')}` : ''}`;
    this.trace.push(`${this.readable(line)}\n      ${this.stateLine()}`);
  }

  private afterEvent(): void {
    this.cluster.settle();
    this.tryPushes();
    this.tryControls();
    this.cluster.settle();
    this.cluster.noteStale(this.now);
    this.checkServing();
  }

  private handle(ev: Event): void {
    switch (ev.e) {
      case 'tick': {
        this.now += ev.ms;
        // Bounded lag: EndpointSlices and the Gateway out of date for maxLagMs have caught up.
        for (const n of this.cluster.catchUp(this.now)) this.note(n);
        return;
      }
      case 'run':
      case 'deliver': {
        const due = this.bag.filter((m) => m.at <= this.now);
        if (due.length === 0) {
          this.note('no message due');
          return;
        }
        const m = due[ev.i % due.length]!;
        this.bag.splice(this.bag.indexOf(m), 1);
        const step = this.claim(m);
        if (step && ev.e === 'run') this.finish(step);
        return;
      }
      case 'advance': {
        if (this.steps.length === 0) {
          this.note('no running step');
          return;
        }
        this.advanceStep(this.steps[ev.i % this.steps.length]!);
        return;
      }
      case 'crash': {
        if (this.steps.length === 0) {
          this.note('no running step');
          return;
        }
        const s = this.steps[ev.i % this.steps.length]!;
        this.steps.splice(this.steps.indexOf(s), 1);
        this.publish({ ...s.msg, at: this.now });
        this.note(
          `step ${s.n} (${s.msg.step} ${s.msg.releaseId}) crashed at stage ${s.stage}; message redelivered`,
        );
        return;
      }
      case 'dup': {
        if (this.bag.length === 0) {
          this.note('no message');
          return;
        }
        const m = this.bag[ev.i % this.bag.length]!;
        this.publish({ ...m });
        return;
      }
      case 'ready': {
        const key = this.cluster.podReady(ev.i);
        this.note(key === null ? 'no pod to become ready' : `${this.backendName(key)} +1 ready`);
        return;
      }
      case 'unready': {
        const key = this.cluster.podUnready(ev.i);
        this.note(key === null ? 'no pod to fail' : `${this.backendName(key)} -1 ready`);
        return;
      }
      case 'sync': {
        const s = this.services[ev.i % this.services.length]!;
        this.cluster.syncEndpoints(s);
        this.note(`${s} EndpointSlices synced`);
        return;
      }
      case 'accept':
        if (!this.cluster.gatewayAccepts()) this.note('nothing new to accept');
        return;
      case 'push':
        // A push waits for the claims of the live releases (claims.ts); tried after every event.
        this.pushes.push(ev.v);
        return;
      case 'control':
        this.control(ev.c);
        return;
      case 'sweep':
        this.sweep();
        return;
      case 'calm':
        this.calm(ev.ms, ev.steps);
        return;
    }
  }

  private calm(ms: number, steps: number): void {
    const until = this.now + ms;
    let left = steps;
    while (left > 0) {
      this.cluster.allPodsReady();
      this.cluster.syncAll();
      this.cluster.gatewayAccepts();
      this.afterEvent();
      const due = this.bag.filter((m) => m.at <= this.now);
      if (due.length === 0) {
        const next = Math.min(...this.bag.map((m) => m.at));
        if (!(next <= until)) return;
        this.now = next;
        continue;
      }
      const m = due[0]!;
      this.bag.splice(this.bag.indexOf(m), 1);
      const s = this.claim(m);
      if (s) {
        this.finish(s);
        left -= 1;
      }
      this.afterEvent();
    }
  }

  private backendName(key: string): string {
    return key === '' ? 'plain' : this.alias(key);
  }

  // ---- Pub/Sub --------------------------------------------------------------------------------

  private publish(m: Omit<StepMsg, 'n'> & { n?: number }): void {
    this.bag.push({ ...m, n: ++this.counter });
  }

  /** wake.ts planWake(): the function that commits a wake due soon fires it itself. */
  private planWake(r: Release): Release {
    if (!r.wake) return r;
    return { ...r, wake: { ...r.wake, inline: r.wake.at - this.now <= timing.inlineWaitMs } };
  }

  /** wake.ts dispatchWake(): an inline wake is published (when due) by the function that planned it. */
  private dispatchWake(r: Release): void {
    if (r.wake?.inline) this.publish({ releaseId: r.id, step: r.wake.step, seq: r.wake.seq, at: r.wake.at });
  }

  // ---- a step: claim, observe + decide, commands, commit, publish --------------------------------

  private routing(r: Release): ModelRouterContext | null {
    const canary = this.target.spec.strategy.canary;
    if (!canary || !r.blue || !r.green) return null;
    return {
      stableService: canary.stableService,
      canaryService: canary.canaryService,
      stableRevision: r.blue.revision,
      canaryRevision: r.green.revision,
      stableDeployment: r.blue.deployment,
      canaryDeployment: r.green.deployment,
      replicas: r.replicas,
      releaseId: r.id,
    };
  }

  /**
   * step.ts look() then claim(): a release with a stored pollUntil horizon and no live lease is read
   * without a claim (no analysis runs in the model; the target always validates); otherwise a
   * transaction takes the release unless the message is stale or it is leased.
   */
  private claim(m: StepMsg): RunningStep | null {
    const r = this.releases.get(m.releaseId);
    const what = `${m.step} ${m.releaseId} seq ${m.seq}`;
    if (!r || r.seq !== m.seq) {
      this.note(`${what}: stale`);
      return null;
    }
    if (!(r.lease && r.lease.until > this.now) && r.wake?.pollUntil) {
      const step: RunningStep = {
        n: ++this.counter,
        msg: m,
        stage: 'claimed',
        claimed: { ...r, lease: null },
        commands: [],
        done: 0,
        ctx: null,
      };
      this.steps.push(step);
      this.note(`step ${step.n} looks at ${what} (no claim)`);
      return step;
    }
    if (r.lease && r.lease.until > this.now) {
      this.note(`${what}: busy (dropped)`);
      return null;
    }
    const lease = { owner: `step-${++this.counter}`, until: this.now + timing.leaseMs };
    const claimed = { ...r, lease };
    this.releases.set(r.id, claimed);
    const step: RunningStep = {
      n: this.counter,
      msg: m,
      stage: 'claimed',
      claimed,
      commands: [],
      done: 0,
      ctx: null,
    };
    this.steps.push(step);
    this.note(`step ${step.n} claimed ${what}`);
    return step;
  }

  private finish(step: RunningStep): void {
    while (this.steps.includes(step)) this.advanceStep(step);
  }

  private end(step: RunningStep): void {
    this.steps = this.steps.filter((s) => s !== step);
  }

  private advanceStep(step: RunningStep): void {
    switch (step.stage) {
      case 'claimed':
        this.observeAndDecide(step);
        return;
      case 'claim':
        this.claimAfterLook(step);
        return;
      case 'executing':
        this.executeOne(step);
        return;
      case 'commit':
        this.commit(step);
        return;
      case 'publish':
        if (step.next) this.dispatchWake(step.next);
        this.end(step);
        return;
    }
  }

  /** step.ts unclaim(): the claim given back; a failed attempt is also counted. */
  private unclaim(step: RunningStep, failed = false): void {
    const cur = this.releases.get(step.claimed.id);
    if (cur && cur.seq === step.claimed.seq && cur.lease?.owner === step.claimed.lease?.owner) {
      const attempts = failed ? { attempts: { count: (cur.attempts?.count ?? 0) + 1, error: 'failed' } } : {};
      this.releases.set(cur.id, { ...cur, lease: null, ...attempts });
    }
  }

  private observeAndDecide(step: RunningStep): void {
    const release = step.claimed;
    // step.ts reads the workload outside any transaction, and commit() writes it back whole.
    // Records are replaced, never changed in place, so holding the reference is reading a copy.
    const workload = this.workload;
    step.inputWorkload = workload;
    const observation = this.cluster.observe(this.services, this.routing(release));
    const decision = decideStep(
      this.target,
      release,
      workload,
      { type: 'step', step: step.msg.step, observation },
      this.now,
    );
    if (decision.release === release) {
      if (release.lease) this.unclaim(step);
      this.end(step);
      this.note(`step ${step.n}: unchanged`);
      return;
    }
    step.commands = decision.commands;
    step.unsafeWhenDecided = decision.commands.map((c) => this.takesDownServing(c));
    step.next = { ...decision.release, attempts: null };
    step.nextWorkload = decision.workload;
    step.ctx = this.routing(release) ?? this.routing(decision.release);
    if (!release.lease) {
      // A look: nothing new seen writes nothing, the next look handed over with the same seq;
      // otherwise the step claims the release first (a separate stage: anything may happen between).
      if (quietly(release, workload, decision)) {
        const planned = this.planWake(decision.release);
        step.next = { ...planned, seq: release.seq, wake: { ...planned.wake!, seq: release.seq } };
        step.commands = [];
        step.stage = 'publish';
        this.note(`step ${step.n}: quiet look (${decision.release.reason ?? ''}), nothing written`);
        return;
      }
      step.stage = 'claim';
      this.noteDecision(step, release, decision.release, ' (looked without a claim)');
      return;
    }
    this.noteDecision(step, release, decision.release, '');
    this.startWriting(step);
  }

  private noteDecision(step: RunningStep, release: Release, decided: Release, how: string): void {
    this.note(() => {
      const cmds = step.commands.map(describeCommand).join(', ');
      const why = decided.reason ? ` (${decided.reason})` : '';
      return `step ${step.n}${how} decided ${release.phase} -> ${decided.phase}${why}${cmds ? ` [${cmds}]` : ''}`;
    });
  }

  /** step.ts after a look: the claim taken in a transaction, unless stale or busy. */
  private claimAfterLook(step: RunningStep): void {
    const m = step.msg;
    const r = this.releases.get(m.releaseId);
    const what = `${m.step} ${m.releaseId} seq ${m.seq}`;
    if (!r || r.seq !== m.seq || (r.lease && r.lease.until > this.now)) {
      this.end(step);
      this.note(`step ${step.n} (${what}) claim after look: ${!r || r.seq !== m.seq ? 'stale' : 'busy'}`);
      return;
    }
    const lease = { owner: `step-${step.n}`, until: this.now + timing.leaseMs };
    step.claimed = { ...r, lease };
    this.releases.set(r.id, step.claimed);
    this.note(`step ${step.n} claimed ${what} after its look`);
    this.startWriting(step);
  }

  /** Writes only under a lease with time to spare: renewed once it is half gone. */
  private startWriting(step: RunningStep): void {
    if (step.commands.length > 0 && !this.renew(step)) {
      this.end(step);
      this.note(`step ${step.n}: lost its claim before writing to the cluster (stale)`);
      return;
    }
    step.stage = step.commands.length ? 'executing' : 'commit';
  }

  /** step.ts renew(): a lease less than half left is extended; false when no longer ours. */
  private renew(step: RunningStep): boolean {
    const lease = step.claimed.lease!;
    if (lease.until - this.now > timing.leaseMs / 2) return true;
    const cur = this.releases.get(step.claimed.id);
    if (!cur || cur.seq !== step.claimed.seq || cur.lease?.owner !== lease.owner) return false;
    const renewed = { owner: lease.owner, until: this.now + timing.leaseMs };
    this.releases.set(cur.id, { ...cur, lease: renewed });
    step.claimed = { ...step.claimed, lease: renewed };
    return true;
  }

  private executeOne(step: RunningStep): void {
    const fenced = stepFence(step, this.now);
    if (fenced) {
      this.end(step);
      // 'fenced' is thrown, the claim given back (not counted), and Pub/Sub redelivers the message.
      this.unclaim(step);
      this.publish({ ...step.msg, at: this.now });
      this.note(`step ${step.n} fenced: ${fenced}; writes nothing more`);
      return;
    }
    const command = step.commands[step.done]!;
    const unsafeWhenDecided = step.unsafeWhenDecided?.[step.done] ?? null;
    step.done += 1;
    try {
      this.issue(
        command,
        step.ctx,
        `step ${step.n} (${step.claimed.id} ${step.claimed.phase})`,
        unsafeWhenDecided,
      );
    } catch (err) {
      if (err instanceof ModelGap) throw err;
      const message = err instanceof Error ? err.message : String(err);
      const attempts = step.claimed.attempts?.count ?? 0;
      let out: { release: Release; workload: Workload };
      if (errorKind(err) === 'in-use') {
        out = refused(step.claimed, step.inputWorkload!, err, this.now);
      } else if (retriability(err) === 'retry' && attempts + 1 < maxAttempts) {
        this.unclaim(step, true);
        this.end(step);
        this.publish({ ...step.msg, at: this.now });
        this.note(`step ${step.n}: ${describeCommand(command)} failed (${message}); will be redelivered`);
        return;
      } else {
        out = failure(step.claimed, step.inputWorkload!, err, this.now, retriability(err) === 'retry');
      }
      step.next = out.release;
      step.nextWorkload = out.workload;
      step.stage = 'commit';
      this.note(`step ${step.n}: ${describeCommand(command)} refused (${message}) -> ${out.release.phase}`);
      return;
    }
    if (step.done >= step.commands.length) step.stage = 'commit';
  }

  /**
   * step.ts commit(): the release written if seq and lease owner are unchanged; the workload record
   * only when the decision changed it, and only if nobody changed it since the step read it (else
   * nothing is committed: "stale", the lease left to lapse). Waiting looks of the same phase get the
   * pollUntil horizon, within which looks that see nothing new write nothing.
   */
  private commit(step: RunningStep): void {
    let next = this.planWake({ ...step.next!, lease: null });
    if (next.wake?.inline && next.phase === step.claimed.phase && step.commands.length === 0) {
      next = { ...next, wake: { ...next.wake, pollUntil: this.now + timing.inlineWaitMs } };
    }
    const cur = this.releases.get(step.claimed.id);
    if (!cur || cur.seq !== step.claimed.seq || cur.lease?.owner !== step.claimed.lease?.owner) {
      this.end(step);
      this.note(`step ${step.n}: lost its claim before committing (stale)`);
      return;
    }
    const read = canonicalJson(step.inputWorkload);
    const changed = canonicalJson(step.nextWorkload) !== read;
    if (changed && canonicalJson(this.workload) !== read) {
      this.end(step);
      this.note(`step ${step.n}: the workload record changed since it was read; commits nothing (stale)`);
      return;
    }
    this.releases.set(next.id, next);
    if (changed) this.workload = step.nextWorkload!;
    step.next = next;
    step.stage = 'publish';
    this.note(`step ${step.n} committed ${next.id} ${next.phase} seq ${next.seq}`);
  }

  /** Carries out an engine command, first recording a violation when it takes away what serves. */
  /**
   * Issues a command on the model cluster. (ii) A scale-down or delete of what serves is a
   * violation when the engine asked for it knowingly (it was unsafe on the cluster the step decided
   * on too) or when the guard lets it through; one decided on an older cluster, or by the sweep
   * (which reads no EndpointSlices and leaves draining to the guard), refused by the guard is the
   * guard at work.
   */
  private issue(
    command: Command,
    ctx: ModelRouterContext | null,
    by: string,
    unsafeWhenDecided: string | null = null,
  ): void {
    // Unsafe now and when decided (the step's own earlier commands did not make it safe): asked
    // knowingly. Unsafe only now: the guard must refuse it.
    const now = this.takesDownServing(command);
    if (now && unsafeWhenDecided)
      this.violate('scale-down-serving', `${by} issued ${describeCommand(command)} while ${now}`);
    this.note(() => `${by}: ${describeCommand(command)}`);
    this.cluster.apply(command, ctx);
    if (now && !unsafeWhenDecided)
      this.violate(
        'scale-down-serving',
        `${by}: ${describeCommand(command)} went through the guard while ${now}`,
      );
    this.lastWrite = `${describeCommand(command)} by ${by}`;
    this.cluster.settle();
  }

  // ---- (ii): scale-downs and deletes -------------------------------------------------------------

  /** Why `command` would take down what serves on the cluster as it is now (null: it would not). */
  private takesDownServing(command: Command): string | null {
    const c = this.cluster;
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
  private checkServing(): void {
    const c = this.cluster;
    const serving = c.servingServices();
    for (const s of serving) {
      if (c.effectiveReady(s) > 0) {
        this.outage.delete(s);
        continue;
      }
      if (this.outage.has(s)) continue;
      this.outage.add(s);
      const rev = c.selectors.get(s)?.['switchyard.dev/revision'];
      const listing = [...(c.listed.get(s) ?? new Map())]
        .map(([k, l]) => `${this.backendName(k)} ${l.ready}/${l.total}`)
        .join(', ');
      this.violate(
        'no-serving-endpoints',
        `${s} carries traffic but has no ready endpoint of a scaled-up backend (it selects ${rev ? this.alias(rev) : 'the whole workload'}, its EndpointSlices list ${listing || 'nothing'}; last write: ${this.lastWrite})`,
      );
    }
    for (const s of this.outage) if (!serving.includes(s)) this.outage.delete(s);
  }

  // ---- pushes ---------------------------------------------------------------------------------

  /** push.ts runPush() for the one target, in one transaction. */
  private push(v: number): void {
    const img = image(v);
    const parsed = parsePush({ action: 'INSERT', digest: img, tag: `${repository}:${tagOf(img)}` });
    if (typeof parsed === 'string') throw new Error(parsed);
    const messageId = `push-${++this.counter}`;
    const out = decidePush(this.target, parsed, messageId, this.workload, this.liveReleases(), this.now);
    if (out.kind === 'ignored') {
      this.note(`ignored: ${out.reason}`);
      return;
    }
    if (this.releases.has(out.release.id)) {
      // tx.create() of an existing document fails the transaction; every redelivery fails the same way.
      this.violate(
        'lost-push',
        `push of ${tagOf(img)} cannot create ${out.release.id}: it exists (the workload's release counter went back)`,
      );
      return;
    }
    const release = this.planWake(out.release);
    this.releases.set(release.id, release);
    const toWake: Release[] = [];
    for (const old of out.superseded) {
      const planned = this.planWake(old);
      this.releases.set(old.id, planned);
      toWake.push(planned);
      this.note(`${old.id} superseded`);
    }
    this.workload = out.workload;
    toWake.push(release);
    this.note(`${release.id} created for ${tagOf(img)}`);
    for (const r of toWake) this.dispatchWake(r);
  }

  private tryPushes(): void {
    for (const v of [...this.pushes]) {
      const wait = controlFence(null, this.liveReleases(), this.now);
      if (wait) {
        this.note(`push v${v} waits: ${wait}`);
        continue;
      }
      this.pushes.splice(this.pushes.indexOf(v), 1);
      this.push(v);
    }
  }

  private liveReleases(): Release[] {
    const ids = [
      ...new Set([this.workload.inFlight, this.workload.queued].filter((id): id is string => !!id)),
    ];
    return ids.map((id) => this.releases.get(id)).filter((r): r is Release => !!r && !isTerminal(r.phase));
  }

  // ---- control messages -----------------------------------------------------------------------

  private control(c: ControlCommand): void {
    const msg: ControlMessage = {
      command: c === 'promote-full' ? 'promote' : c,
      target: 'api',
      full: c === 'promote-full',
      requestedBy: 'model',
      requestId: `request-${String(++this.counter).padStart(4, '0')}`,
    };
    this.controls.push({ msg });
  }

  /** Applies queued control messages whose fence is open (control.ts runControl, one transaction each). */
  private tryControls(): void {
    for (const q of [...this.controls]) {
      const msg = q.msg;
      const label = `${msg.command}${msg.full ? ' --full' : ''}`;
      const workload = this.workload;
      const releaseId = msg.release ?? workload.inFlight ?? workload.queued ?? workload.lastRelease;
      const release = releaseId ? (this.releases.get(releaseId) ?? null) : null;
      const live = this.liveReleases();
      const wait = controlFence(release, live, this.now);
      if (wait) {
        if (!this.notes.some((n) => n.startsWith(`${label} waits`))) this.note(`${label} waits: ${wait}`);
        continue;
      }
      this.controls = this.controls.filter((x) => x !== q);
      const outcome = decideControl(this.target, msg, release, workload, live, this.now);
      if (outcome.kind === 'refused') {
        if (release) {
          const history = [
            ...release.history,
            {
              at: this.now,
              from: release.phase,
              to: release.phase,
              cause: msg.command,
              reason: `refused: ${outcome.reason}`,
            },
          ];
          this.releases.set(release.id, { ...release, history, updatedAt: this.now });
        }
        this.note(`${label} refused: ${outcome.reason}`);
        continue;
      }
      const next = this.planWake(outcome.release);
      const toWake: Release[] = [];
      if (outcome.kind === 'started') {
        if (this.releases.has(next.id)) {
          this.violate(
            'lost-push',
            `${label} cannot create ${next.id}: it exists (the workload's release counter went back)`,
          );
          continue;
        }
        for (const old of outcome.superseded) {
          const planned = this.planWake(old);
          this.releases.set(old.id, planned);
          toWake.push(planned);
        }
      }
      this.releases.set(next.id, next);
      this.workload = outcome.workload;
      toWake.push(next);
      this.note(`${label} applied: ${next.id} ${next.phase}`);
      for (const r of toWake) this.dispatchWake(r);
    }
  }

  // ---- the sweep ------------------------------------------------------------------------------

  /** sweep.ts runSweep(): fire due wakes whose lease is free, then revision GC. */
  private sweep(): void {
    const now = this.now;
    for (const r of this.releases.values()) {
      const wake = r.wake;
      if (!wake || wake.at > now + timing.sweepLookaheadMs) continue;
      if (r.lease && r.lease.until > now) continue;
      // Looks handed over without a write keep the wake-up owned until its horizon (step.ts).
      const overdue = Math.max(wake.at, wake.pollUntil ?? 0) < now - timing.overdueMs;
      if (wake.inline && !overdue) continue;
      this.publish({ releaseId: r.id, step: wake.step, seq: wake.seq, at: wake.at });
      this.note(`sweep fired ${wake.step} ${r.id} seq ${wake.seq}${overdue ? ' (overdue)' : ''}`);
    }
    const w = this.workload;
    if (!w.gcPending || w.inFlight) return;
    const snapshot = this.cluster.snapshot(this.services);
    try {
      const settle = servicesToSettle(w, snapshot, this.services[0]!);
      for (const command of settle) this.issue(command, null, 'sweep');
      const pending = [...this.releases.values()]
        .map((r) => r.cleanup?.deployment)
        .filter((name): name is string => name !== undefined);
      let refused = 0;
      for (const deployment of revisionsToScaleDown(w, snapshot, pending)) {
        try {
          this.issue({ type: 'ScaleRevision', deployment, replicas: 0 }, null, 'sweep');
        } catch (err) {
          refused += 1;
          this.note(
            `sweep: not scaling down ${deployment}: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
      if (settle.length > 0 || refused > 0) return;
      const scaled = this.cluster.snapshot(this.services);
      for (const deployment of revisionsToRemove(w, scaled, this.target.spec.revisionHistoryLimit)) {
        this.issue({ type: 'DeleteRevision', deployment }, null, 'sweep');
      }
      const cur = this.workload;
      if (cur.inFlight === null && cur.lastRelease === w.lastRelease)
        this.workload = { ...cur, gcPending: false };
    } catch (err) {
      this.note(`sweep: could not clean up: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  // ---- drain and the end state ------------------------------------------------------------------

  /**
   * Events stop: every pod becomes ready, EndpointSlices and the Gateway catch up, every message is
   * delivered and every step runs to its end, time moves to the next due moment, and the scheduler
   * runs the sweep every minute. First without a human: every release must end, or wait for one
   * (a pause, promotion by hand) within its deadlines plus delays. Then a human promotes or resumes
   * whatever waits, and every release must end. Then the end state is checked.
   */
  drain(): void {
    this.eventIndex += 1;
    this.notes.length = 0;
    const line = `#${this.eventIndex} t=${fmtTime(this.now)} drain (every pod ready, every message delivered, time to each next wake, a sweep a minute; then a human promotes)`;
    for (const phase of [1, 2] as const) {
      const start = this.now;
      const open = [...this.releases.values()].filter((r) => !this.settled(r, phase));
      const bound = Math.max(1, open.length) * this.releaseBoundMs() + timing.leaseMs;
      let nextSweep = this.now;
      let settledAt: number | null = null;
      for (let round = 0; round < 5000; round++) {
        const c = this.cluster;
        c.allPodsReady();
        c.syncAll();
        c.gatewayAccepts();
        if (phase === 2) this.humanActs();
        this.afterEvent();
        while (this.steps.length) this.finish(this.steps[0]!);
        const due = this.bag.filter((m) => m.at <= this.now);
        if (due.length) {
          for (const m of due) {
            this.bag.splice(this.bag.indexOf(m), 1);
            const s = this.claim(m);
            if (s) this.finish(s);
            this.afterEvent();
          }
          continue;
        }
        if (
          [...this.releases.values()].every((r) => this.settled(r, phase)) &&
          this.controls.length === 0 &&
          this.pushes.length === 0 &&
          // …and the sweep has cleaned up after the last release (as it does within a minute).
          !(this.workload.gcPending && !this.workload.inFlight)
        ) {
          settledAt = this.now;
          break;
        }
        if (this.now - start > bound + timing.sweepEveryMs) break;
        if (this.now >= nextSweep) {
          this.sweep();
          this.afterEvent();
          nextSweep = this.now + timing.sweepEveryMs;
          continue;
        }
        const candidates = [nextSweep, ...this.bag.map((m) => m.at)].filter((t) => t > this.now);
        this.now = Math.min(...candidates);
      }
      const stuck = [...this.releases.values()].filter((r) => !this.settled(r, phase));
      if (settledAt === null || settledAt - start > bound) {
        const which = stuck.length
          ? stuck
              .map((r) => `${r.id} ${r.phase}${r.cleanup ? ' (cleanup pending)' : ''} (${r.reason ?? ''})`)
              .join('; ')
          : this.controls.length || this.pushes.length
            ? `queued: ${[...this.controls.map((q) => q.msg.command), ...this.pushes.map((v) => `push v${v}`)].join(', ')}`
            : 'the sweep could not clean up after the last release';
        this.violate(
          'not-terminal',
          settledAt === null
            ? `drain phase ${phase}: after ${fmtTime(this.now - start)} still open: ${which}`
            : `drain phase ${phase}: took ${fmtTime(settledAt - start)}, more than the bound ${fmtTime(bound)}`,
        );
        break;
      }
    }
    if (!this.violations.some((v) => v.kind === 'not-terminal')) this.checkEndState();
    if (!this.verbose) return;
    // What the drain did, one line per action, up to the first violation (then the end state).
    const first = this.notes.findIndex((n) => n.startsWith('VIOLATION'));
    const actions = collapse(first === -1 ? this.notes : this.notes.slice(0, first + 1));
    this.trace.push(
      line,
      ...actions.map((n) => `      · ${this.readable(n)}`),
      `      end: ${this.stateLine()}`,
    );
  }

  private releaseBoundMs(): number {
    const t = timing;
    return (
      2 * t.progressDeadlineSeconds * 1000 +
      (t.scaleDownDelaySeconds + t.abortScaleDownDelaySeconds + 2 * t.pauseSeconds + t.autoPromotionSeconds) *
        1000 +
      t.leaseMs +
      2 * t.sweepEveryMs +
      t.overdueMs
    );
  }

  /** Phase 1: ended (cleanup done) or waiting for a human, directly or queued behind one that does. */
  private settled(r: Release, phase: 1 | 2): boolean {
    if (isTerminal(r.phase)) return r.cleanup === null;
    if (phase === 2) return false;
    if (this.waitsForHuman(r)) return true;
    const blocker = this.workload.inFlight ? this.releases.get(this.workload.inFlight) : undefined;
    return r.phase === 'Pending' && !!blocker && blocker.id !== r.id && this.waitsForHuman(blocker);
  }

  /**
   * Paused, or waiting for promote: AwaitingPromotion unless blue-green promotes itself after
   * autoPromotionSeconds (a resumed release keeps a wake-up that changes nothing, so the wake does not tell).
   */
  private waitsForHuman(r: Release): boolean {
    if (isTerminal(r.phase)) return false;
    if (r.paused) return true;
    const bg = this.target.spec.strategy.blueGreen;
    const timed = !!bg && bg.autoPromotionEnabled && bg.autoPromotionSeconds !== undefined;
    return r.phase === 'AwaitingPromotion' && !timed;
  }

  private humanActs(): void {
    for (const r of this.releases.values()) {
      if (!this.waitsForHuman(r)) continue;
      if (this.controls.some((q) => q.msg.release === r.id)) continue;
      this.controls.push({
        msg: {
          command: r.paused ? 'resume' : 'promote',
          target: 'api',
          release: r.id,
          full: false,
          requestedBy: 'human',
          requestId: `human-${String(++this.counter).padStart(4, '0')}`,
        },
      });
    }
  }

  /** Once everything has ended: the record agrees with the cluster, and nothing is left behind. */
  private checkEndState(): void {
    const c = this.cluster;
    const w = this.workload;
    const active = c.selectors.get(c.activeService) ?? {};
    const selected = active['switchyard.dev/revision'];
    const name = (rev: string | undefined) => (rev === undefined ? 'the whole workload' : this.alias(rev));
    if ((w.stable?.revision ?? undefined) !== selected) {
      this.violate(
        'record-mismatch',
        `the workload record says stable ${w.stable ? this.alias(w.stable.revision) : '(none)'} but ${c.activeService} selects ${name(selected)}`,
      );
      return;
    }
    const serving = w.stable ? w.stable.deployment : 'api';
    if (c.hpa && c.hpa.target !== serving) {
      this.violate(
        'record-mismatch',
        `the HPA targets ${this.readable(c.hpa.target)}, not the serving ${this.readable(serving)}`,
      );
    }
    const servingBackend = c.backend(selected ?? '');
    if (!servingBackend || servingBackend.desired < this.scenario.replicas) {
      this.violate(
        'capacity',
        `${c.activeService} serves ${name(selected)} with ${servingBackend?.desired ?? 0} replicas, not ${this.scenario.replicas}`,
      );
    }
    for (const b of c.backends()) {
      if (b.key !== (selected ?? '') && b.desired > 0) {
        this.violate(
          'leak',
          `${this.backendName(b.key)} keeps ${b.desired} replicas though nothing serves from it`,
        );
      }
    }
  }
}

/** Lines repeating as a block (a release polling while it waits) shown once, with the count. */
function collapse(lines: string[]): string[] {
  const shape = (l: string) => l.replace(/\d+(\.\d+)?/g, '#');
  const same = (i: number, j: number, size: number) =>
    lines.slice(i, i + size).every((l, k) => shape(l) === shape(lines[j + k] ?? ''));
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    let best = { size: 1, times: 0 };
    for (let size = 1; size <= 4; size++) {
      let times = 0;
      while (i + (times + 2) * size <= lines.length && same(i, i + (times + 1) * size, size)) times += 1;
      if (times * size > best.times * best.size) best = { size, times };
    }
    if (best.times >= 2) {
      out.push(...lines.slice(i, i + best.size), `… the same ${best.times} more time(s)`);
      i += (best.times + 1) * best.size;
    } else {
      out.push(lines[i]!);
      i += 1;
    }
  }
  return out;
}

/**
 * runtime/step.ts refused(), which is not exported: the serving guard refused a write;
 * the refusal goes into the history and the step looks again after a pause, up to maxAttempts.
 */
function refused(
  release: Release,
  workload: Workload,
  err: unknown,
  now: number,
): { release: Release; workload: Workload } {
  const reason = `refused by the serving guard: ${err instanceof Error ? err.message : String(err)}`;
  const count = (release.attempts?.count ?? 0) + 1;
  if (isTerminal(release.phase)) {
    return { release: advance(release, now, { reason, cause: 'guard', patch: { cleanup: null } }), workload };
  }
  if (count >= maxAttempts) {
    return {
      release: advance(release, now, {
        phase: 'Failed',
        reason: `gave up after ${count} attempts: ${reason}`,
        cause: 'guard',
      }),
      workload: endFor(workload, release),
    };
  }
  return {
    release: advance(release, now, {
      reason,
      cause: 'guard',
      wakeIn: Math.min(30_000, 1000 * 2 ** count),
      patch: { attempts: { count, error: reason } },
    }),
    workload,
  };
}

/** runtime/step.ts failure(), which is not exported: a refused command ends or rolls back the release. */
function failure(
  release: Release,
  workload: Workload,
  err: unknown,
  now: number,
  exhausted = false,
): { release: Release; workload: Workload } {
  const message = err instanceof Error ? err.message : String(err);
  const reason = exhausted
    ? `gave up after ${(release.attempts?.count ?? 0) + 1} attempts: ${message}`
    : `Kubernetes refused: ${message}`;
  if (isTerminal(release.phase)) {
    return {
      release: advance(release, now, { reason, cause: 'cleanup', patch: { cleanup: null } }),
      workload,
    };
  }
  if (release.green && release.blue && release.phase !== 'RollingBack') {
    return {
      release: advance(release, now, {
        phase: 'RollingBack',
        reason,
        wakeIn: 0,
        patch: { rollbackOutcome: 'RolledBack' },
      }),
      workload,
    };
  }
  return { release: advance(release, now, { phase: 'Failed', reason }), workload: endFor(workload, release) };
}

/**
 * runtime/step.ts quietly(), which is not exported: a decision made without a claim saw nothing new
 * (no commands, no change but seq, time stamps and wake, the workload record unchanged, the next
 * wake-up of the same step inside the stored pollUntil horizon): the step writes nothing.
 */
function quietly(
  release: Release,
  workload: Workload,
  decision: { release: Release; commands: unknown[]; workload: Workload },
): boolean {
  if (canonicalJson(workload) !== canonicalJson(decision.workload)) return false;
  const next = decision.release;
  if (decision.commands.length > 0 || !next.wake) return false;
  const horizon = release.wake?.pollUntil;
  if (!horizon || next.wake.at > horizon || next.wake.step !== release.wake?.step) return false;
  const plain = (r: Release) => canonicalJson({ ...r, seq: 0, updatedAt: 0, wake: null, lease: null });
  return plain(release) === plain(next);
}
