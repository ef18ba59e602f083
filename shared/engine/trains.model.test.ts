// Model-based test of a release train of three targets (backend <- bff <- frontend) in the pure
// engine: random push order and times, a member whose candidate never gets ready, a dependency with
// no push of the version, an undo of the frontend after it switched, with and without rollbackTrain.
// Each member runs on a hand-stepped cluster of its own (model/hand-cluster.ts); what the runtime
// reads of the other members' releases (observe.ts) is built from their records at each step.
// Checked: no member switches before each dependency with a release of the version switched; a
// dependency that ended without switching means no dependent switched once its release was there; nothing serving is
// taken down on any member's cluster; every release ends; and with rollbackTrain an undone frontend
// sends every switched member back to its old revision, dependents first.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideControl } from './control.ts';
import type { DependencyRelease, DependentRelease, Observation } from './kernel.ts';
import { blueGreenTarget, controlMessage, digest, pushImage } from './model/fixtures.ts';
import { Cluster, drive, rev, step } from './model/hand-cluster.ts';
import { isTerminal } from './phase.ts';
import { emptyWorkload, type Release, type Workload } from './release.ts';
import type { EngineTarget } from './target.ts';

const names = ['backend', 'bff', 'frontend'] as const;
type Name = (typeof names)[number];
const dependsOn: Record<Name, Name[]> = { backend: [], bff: ['backend'], frontend: ['bff'] };
const waitSeconds = 120;

interface Plan {
  /** When each member's push of v2 arrives (ms); null: no push of the version. */
  pushAt: Record<Name, number | null>;
  /** A member whose candidate never gets ready (it rolls back at its progress deadline). */
  broken: Name | null;
  /** The frontend is undone this long after it switched (null: never). */
  undoAfter: number | null;
  rollbackTrain: boolean;
}

class Member extends Cluster {
  override release: Release | null = null;
  workload: Workload;
  readonly target: EngineTarget;
  others: () => { dependencies: DependencyRelease[]; dependents: DependentRelease[] } = () => ({
    dependencies: [],
    dependents: [],
  });
  constructor(t: EngineTarget, workload: Workload) {
    super(t);
    this.target = t;
    this.workload = workload;
  }
  override observe(): Observation {
    return { ...super.observe(), ...this.others() };
  }
}

/** A member with v1 adopted and serving. */
function member(n: Name, rollbackTrain: boolean): Member {
  const t = blueGreenTarget({}, { dependsOn: dependsOn[n], dependsOnWaitSeconds: waitSeconds });
  t.name = n;
  if (n === 'frontend' && rollbackTrain) t.spec.rollbackTrain = true;
  const first = pushImage(t, digest('1'), emptyWorkload(n), 0);
  const c = new Member(t, first.workload);
  const adopted = drive(t, c, first.release, first.workload, 0);
  expect(adopted.release.phase).toBe('Succeeded');
  c.workload = adopted.workload;
  c.release = null;
  return c;
}

function run(plan: Plan) {
  const m = Object.fromEntries(names.map((n) => [n, member(n, plan.rollbackTrain)])) as Record<Name, Member>;
  const start = 10_000;
  const release = (n: Name) => m[n].release;
  const dependencies = (n: Name): DependencyRelease[] =>
    dependsOn[n].map((d) => {
      const r = release(d);
      return {
        target: d,
        release: r ? { id: r.id, phase: r.phase, switchedAt: r.switchedAt, reason: r.reason } : null,
      };
    });
  const dependents = (n: Name): DependentRelease[] =>
    names
      .filter((x) => dependsOn[x].includes(n))
      .map((x) => {
        const r = release(x);
        return {
          target: x,
          rollbackTrain: m[x].target.spec.rollbackTrain === true,
          holds: plan.rollbackTrain,
          waitSeconds,
          release: r
            ? { id: r.id, phase: r.phase, reason: r.reason, trainRollback: r.trainRollback !== undefined }
            : null,
        };
      });
  for (const n of names) {
    m[n].others = () => ({ dependencies: dependencies(n), dependents: dependents(n) });
    if (plan.broken === n) m[n].instant = false;
  }
  const switchedWhile: string[] = [];
  let undone = false;
  // The switched members still holding their old revision when the frontend started going back.
  let warmWhenUndone: Name[] | null = null;
  let now = start;
  for (let i = 0; i < 2000; i++) {
    // The next event: a push due, a wake-up due, or the undo.
    const candidates: { at: number; run: () => void }[] = [];
    for (const n of names) {
      const c = m[n];
      const at = plan.pushAt[n];
      if (at !== null && !c.release) {
        candidates.push({
          at: start + at,
          run: () => {
            const pushed = pushImage(c.target, digest('2'), c.workload, now);
            c.release = pushed.release;
            c.workload = pushed.workload;
          },
        });
      } else if (c.release?.wake) {
        candidates.push({
          at: c.release.wake.at,
          run: () => {
            const before = c.release!;
            const d = step(c.target, c, before, c.workload, now);
            if (before.switchedAt === null && d.release.switchedAt !== null) {
              // What the dependencies' records said when this member switched.
              for (const dep of dependencies(n)) {
                const r = dep.release;
                if (r && r.phase !== 'ScalingDown' && r.phase !== 'Succeeded')
                  switchedWhile.push(`${n} switched while ${dep.target} was ${r.phase}`);
                if (!r && now < d.release.createdAt + waitSeconds * 1000)
                  switchedWhile.push(`${n} switched before ${dep.target}'s wait was over`);
              }
            }
            c.release = d.release;
            c.workload = d.workload;
          },
        });
      }
    }
    const fe = release('frontend');
    if (plan.undoAfter !== null && !undone && fe?.switchedAt && !isTerminal(fe.phase)) {
      candidates.push({
        at: fe.switchedAt + plan.undoAfter,
        run: () => {
          undone = true;
          const out = decideControl(
            m.frontend.target,
            { ...controlMessage('undo', 'req-undo-0001'), target: 'frontend' },
            fe,
            m.frontend.workload,
            [fe],
            now,
          );
          if (out.kind === 'applied' && out.release) {
            m.frontend.release = out.release;
            m.frontend.workload = out.workload;
          }
        },
      });
    }
    if (candidates.length === 0) break;
    const next = candidates.reduce((a, b) => (b.at < a.at ? b : a));
    now = Math.max(now, next.at);
    next.run();
    if (!warmWhenUndone && release('frontend')?.phase === 'RollingBack') {
      warmWhenUndone = names.filter((n) => {
        const r = release(n);
        return n !== 'frontend' && r?.switchedAt && !isTerminal(r.phase);
      });
    }
  }
  return { m, switchedWhile, warmWhenUndone: warmWhenUndone ?? [] };
}

// Pushes come within the members' dependsOnWaitSeconds of each other (the backend's may not come at
// all). A push later than that is a train of its own by design; the rollback of a train whose
// members came further apart than the wait is not what this property states.
const within = fc.integer({ min: 0, max: waitSeconds * 1000 - 20_000 });
const planArb: fc.Arbitrary<Plan> = fc.record({
  pushAt: fc.record({
    backend: fc.option(within, { freq: 6, nil: null }),
    bff: within,
    frontend: within,
  }),
  broken: fc.option(fc.constantFrom(...names), { freq: 3, nil: null }),
  undoAfter: fc.option(fc.integer({ min: 0, max: 60_000 }), { freq: 2, nil: null }),
  rollbackTrain: fc.boolean(),
});

describe('engine model: a release train of three targets', () => {
  it('holds the order, never switches past a dependency that failed, takes nothing serving down, ends every release, and goes back together', () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        const { m, switchedWhile, warmWhenUndone } = run(plan);
        expect(switchedWhile).toEqual([]);
        for (const n of names) {
          expect(m[n].violations(), n).toEqual([]);
          const r = m[n].release;
          if (r) expect(isTerminal(r.phase), `${n} ${r.phase}: ${r.reason}`).toBe(true);
        }
        // A dependency that ended without switching: no dependent switched once its release was
        // there (one that switched before it came had waited dependsOnWaitSeconds for it).
        for (const n of names) {
          const r = m[n].release;
          if (!r || r.switchedAt !== null) continue;
          for (const x of names.filter((y) => dependsOn[y].includes(n))) {
            const switched = m[x].release?.switchedAt ?? null;
            if (switched !== null) expect(switched, `${x} after ${n} ${r.phase}`).toBeLessThan(r.createdAt);
          }
        }
        // Every member serves the revision its record calls stable.
        for (const n of names) {
          expect(m[n].selectors.api?.[rev], n).toBe(m[n].workload.stable?.revision);
        }
        // rollbackTrain: an undone frontend took back every member still warm, dependents first. A
        // member that had ended (its dependent came later than its dependsOnWaitSeconds) stays.
        const fe = m.frontend.release;
        if (plan.rollbackTrain && fe?.phase === 'RolledBack' && fe.switchedAt !== null) {
          const back = (r: Release) => r.history.find((h) => h.to === 'RollingBack')?.at ?? Infinity;
          for (const n of warmWhenUndone) {
            const r = m[n].release!;
            expect(r.phase, n).toBe('RolledBack');
            expect(back(r)).toBeGreaterThanOrEqual(back(n === 'bff' ? fe : m.bff.release!));
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
