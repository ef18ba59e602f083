// What the engine reads of a ReleaseTarget (shared/target/schema.ts is the full, validated shape).
import type { AnalysisRef, AnalysisTemplate } from '../analysis/schema.ts';
import type { Access } from '../identity/access.ts';
import type { Notifier } from '../notify/schema.ts';
import type { CanaryStrategy } from '../target/canary.ts';

export type { CanaryStrategy };

export interface BlueGreenStrategy {
  activeService: string;
  previewService?: string;
  previewReplicaCount?: number;
  autoPromotionEnabled: boolean;
  autoPromotionSeconds?: number;
  scaleDownDelaySeconds: number;
  abortScaleDownDelaySeconds: number;
  prePromotionAnalysis?: AnalysisRef;
  postPromotionAnalysis?: AnalysisRef;
}

/** spec.drain: analysis templates measured until each says drained, at most maxWaitSeconds. */
export interface DrainSpec extends AnalysisRef {
  maxWaitSeconds: number;
}

export interface EngineTarget {
  name: string;
  /** Bumped by `switchyard apply` whenever the spec changes. */
  generation: number;
  spec: {
    image: {
      repository: string;
      tagFilter?: string;
      untagged: 'ignore' | 'release';
      versionGroup?: number | string;
    };
    cluster: { gke: string } | { context: string };
    namespace: string;
    workload: string;
    containers?: string[];
    progressDeadlineSeconds: number;
    revisionHistoryLimit: number;
    /** Exactly one of the two. */
    strategy: { blueGreen?: BlueGreenStrategy; canary?: CanaryStrategy };
    /** Templates of the target, with the named templates it references added by the runtime. */
    analysis?: { templates: AnalysisTemplate[] };
    /** Where its release events are delivered (read by the notify function only). */
    notifications?: Notifier[];
    /** Who may run which control command (read by the control function only). */
    access?: Access;
    /** Release trains: targets whose release of the same version must switch first. */
    dependsOn?: string[];
    /** How long to wait for a dependency's release of the version to appear (default: trains.ts). */
    dependsOnWaitSeconds?: number;
    /** Release trains: a rollback of this target's release sends its switched dependencies back. */
    rollbackTrain?: boolean;
    /** Holds the old revision after the switch until these metrics say it has drained. */
    drain?: DrainSpec;
  };
}

/**
 * The strategy as the shared parts of the engine see it (adoption, creating the new revision,
 * switching, scaling down): a canary's stable Service plays the active Service, its canary Service
 * the preview Service, and the canary revision starts small (none at all with the replica-ratio
 * router, which scales it itself).
 */
export function strategyOf(target: EngineTarget): BlueGreenStrategy {
  const { blueGreen, canary } = target.spec.strategy;
  if (blueGreen) return blueGreen;
  if (!canary) throw new Error(`target ${target.name} has no strategy`);
  return {
    activeService: canary.stableService,
    previewService: canary.canaryService,
    previewReplicaCount: canary.trafficRouting ? 1 : 0,
    autoPromotionEnabled: true,
    scaleDownDelaySeconds: canary.scaleDownDelaySeconds,
    abortScaleDownDelaySeconds: canary.abortScaleDownDelaySeconds,
  };
}

/** The Services a target's releases use: the one that serves first. */
export function servicesOf(target: EngineTarget): string[] {
  const s = strategyOf(target);
  return [s.activeService, ...(s.previewService ? [s.previewService] : [])];
}
