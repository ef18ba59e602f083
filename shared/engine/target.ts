// What the engine reads of a ReleaseTarget (shared/target/schema.ts is the full, validated shape).
import type { AnalysisRef, AnalysisTemplate } from '../analysis/schema.ts';

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

export interface EngineTarget {
  name: string;
  /** Bumped by `switchyard apply` whenever the spec changes. */
  generation: number;
  spec: {
    image: { repository: string; tagFilter?: string; untagged: 'ignore' | 'release' };
    cluster: { gke: string } | { context: string };
    namespace: string;
    workload: string;
    containers?: string[];
    progressDeadlineSeconds: number;
    revisionHistoryLimit: number;
    strategy: { blueGreen: BlueGreenStrategy };
    /** Templates of the target, with the named templates it references added by the runtime. */
    analysis?: { templates: AnalysisTemplate[] };
  };
}
