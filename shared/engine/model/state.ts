// The state of the model system: the target and the model cluster, model time, the records in
// Firestore (releases by id, the workload record with its seq and lease), the Pub/Sub bag of step
// messages, the running steps, queued control messages and pushes, and the violations and trace.
// The behaviour is in the files beside it, as functions of this state (see README.md); what is
// here is what they all use: names in traces, notes, violations and publishing a wake.

import { deploymentName, greenTemplate, revisionDeployment, revisionOf } from '../../kubernetes/revision.ts';
import type { ControlMessage } from '../../messages.ts';
import type { StepName } from '../../topology.ts';
import type { Command } from '../commands.ts';
import { isTerminal } from '../phase.ts';
import {
  emptyWorkload,
  type PodTemplate,
  type Release,
  type RevisionRef,
  type Workload,
} from '../release.ts';
import { type EngineTarget, servicesOf } from '../target.ts';
import { ModelCluster } from './cluster.ts';
import type { ModelRouterContext } from './cluster-objects.ts';
import { repo } from './fixtures.ts';
import { image, plainTemplate, type Scenario, targetFor, timing } from './scenario.ts';
import { fmtTime } from './trace.ts';

export interface StepMsg {
  n: number;
  releaseId: string;
  step: StepName;
  seq: number;
  /** Published when due (the publisher waits until then). */
  at: number;
}

export interface RunningStep {
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

export interface QueuedControl {
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

export class SystemState {
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
  eventIndex = 0;
  counter = 0;
  private readonly aliases = new Map<string, string>();
  readonly notes: string[] = [];
  /** The last cluster write, named in a serving violation (what left the Service without endpoints). */
  lastWrite = 'none';
  readonly outage = new Set<string>();

  readonly scenario: Scenario;
  readonly verbose: boolean;

  /** Pushes waiting for a claimed release (claims.ts); by image version. */
  pushes: number[] = [];

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
      this.alias(revisionOf(greenTemplate(plain, image(v), undefined, repo)), `r${v}`);
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
      stable = revision(greenTemplate(plain, image(2), undefined, repo), 2, n);
    }
    for (const s of this.services) {
      c.selectors.set(s, { 'app.kubernetes.io/name': 'api', 'switchyard.dev/revision': stable.revision });
    }
    if (c.hpa) c.hpa.target = stable.deployment;
    this.workload = { ...this.workload, stable, previous };
    c.syncAll();
  }

  // ---- names in traces ------------------------------------------------------------------------

  alias(revision: string, name?: string): string {
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
  note(text: string | (() => string)): void {
    if (this.verbose) this.notes.push(typeof text === 'string' ? text : text());
  }

  violate(kind: Violation['kind'], message: string): void {
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

  backendName(key: string): string {
    return key === '' ? 'plain' : this.alias(key);
  }

  // ---- Pub/Sub --------------------------------------------------------------------------------

  publish(m: Omit<StepMsg, 'n'> & { n?: number }): void {
    this.bag.push({ ...m, n: ++this.counter });
  }

  /** wake.ts planWake(): the function that commits a wake due soon fires it itself. */
  planWake(r: Release): Release {
    if (!r.wake) return r;
    return { ...r, wake: { ...r.wake, inline: r.wake.at - this.now <= timing.inlineWaitMs } };
  }

  /** wake.ts dispatchWake(): an inline wake is published (when due) by the function that planned it. */
  dispatchWake(r: Release): void {
    if (r.wake?.inline) this.publish({ releaseId: r.id, step: r.wake.step, seq: r.wake.seq, at: r.wake.at });
  }

  liveReleases(): Release[] {
    const ids = [
      ...new Set([this.workload.inFlight, this.workload.queued].filter((id): id is string => !!id)),
    ];
    return ids.map((id) => this.releases.get(id)).filter((r): r is Release => !!r && !isTerminal(r.phase));
  }
}
