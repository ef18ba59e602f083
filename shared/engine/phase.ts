// The phases of a release (SPEC names) and what each says: ended, before the switch, gone wrong,
// or in need of both revisions.

/** Every phase of a release, in the order a release meets them (SPEC names). */
export const phases = [
  /** Accepted; the first step has not run yet. */
  'Pending',
  /** A plain Deployment is being taken over: a first revision from its template, then the selector. */
  'Adopting',
  /** Canary: the steps run (weights, pauses, analysis). */
  'Progressing',
  /** The candidate revision is being created and must become ready. */
  'DeployingGreen',
  /** Checks against the candidate before any traffic moves (readiness, and analysis when configured). */
  'PrePromotionAnalysis',
  /**
   * Release trains: ready and checked, waiting before its switch (or first weight step) until each
   * target it depends on has switched its release of the same version.
   */
  'AwaitingDependencies',
  /** Paused until `promote` (or autoPromotionSeconds). */
  'AwaitingPromotion',
  /** The candidate is scaled to full size and the active Service moves to it. */
  'Switching',
  /** Checks after the switch while stable is still warm. */
  'PostPromotionAnalysis',
  /** Waiting scaleDownDelaySeconds, then stable is scaled to zero (kept for undo). */
  'ScalingDown',
  /** Done: the candidate serves all traffic. */
  'Succeeded',
  /** Traffic goes back to stable and the candidate is removed. */
  'RollingBack',
  /** Done: stable serves, the candidate removed. */
  'RolledBack',
  /** Stopped by `abort`: stable serves, the candidate scaled down after abortScaleDownDelaySeconds. */
  'Aborted',
  /** Stopped by an error that needs a human (bad input, refused by Kubernetes): stable serves. */
  'Failed',
  /** Replaced by a newer push before it switched; its candidate removed. */
  'Superseded',
] as const;

export type Phase = (typeof phases)[number];

const terminalPhases = [
  'Succeeded',
  'RolledBack',
  'Aborted',
  'Failed',
  'Superseded',
] as const satisfies Phase[];
export type TerminalPhase = (typeof terminalPhases)[number];
const terminal: ReadonlySet<Phase> = new Set(terminalPhases);

/** Phases of a release that went wrong: on the way back to stable, or ended without switching. */
export const failurePhases: ReadonlySet<Phase> = new Set(['RollingBack', 'RolledBack', 'Aborted', 'Failed']);

/** A terminal phase never changes again. */
export function isTerminal(phase: Phase): boolean {
  return terminal.has(phase);
}

/** Phases in which traffic has not moved to green yet (a newer push may supersede them). */
export function isBeforeSwitch(phase: Phase): boolean {
  const before: Phase[] = [
    'Pending',
    'Adopting',
    'DeployingGreen',
    'PrePromotionAnalysis',
    'AwaitingDependencies',
    'AwaitingPromotion',
    'Progressing',
  ];
  return before.includes(phase);
}

/**
 * Phases a release is in only once both its revisions are known: the stable one (serving when it
 * started) and the candidate (its new one). `advance` refuses to enter one without them.
 */
export type RevisionPhase = Exclude<Phase, 'Pending' | 'Adopting' | TerminalPhase>;

/** Whether `phase` is one a release is in only with both its revisions. */
export function isRevisionPhase(phase: Phase): phase is RevisionPhase {
  return phase !== 'Pending' && phase !== 'Adopting' && !isTerminal(phase);
}
