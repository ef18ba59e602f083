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
//
// The files (README.md has the map): scenario.ts, events.ts, state.ts (SystemState), event-loop.ts,
// step-runner.ts and step-writes.ts, step-rules.ts, intake.ts, sweep.ts, invariants.ts, drain.ts.
import { runDrain } from './drain.ts';
import { runEvent } from './event-loop.ts';
import type { Event } from './events.ts';
import { SystemState } from './state.ts';

/** The model system the harness drives: one event at a time, then the drain. */
export class System extends SystemState {
  /** Runs one event and checks the invariants after it. */
  step(ev: Event): void {
    runEvent(this, ev);
  }

  /** Events stop; every release must end (drain.ts). */
  drain(): void {
    runDrain(this);
  }
}
