// The events of a model history, as data (what the harness generates and shrinks), and how one
// prints. event-loop.ts carries them out.

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
