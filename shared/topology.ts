// The one registry of Switchyard's functions, topics and subscriptions. Terraform, the local stack
// and the code that publishes all read it, so they cannot drift apart.

/** The steps of a release, each a function of its own. */
export const stepNames = ['deploy-green', 'analyze', 'switch', 'scale-down', 'rollback'] as const;
export type StepName = (typeof stepNames)[number];

export const functionNames = [...stepNames, 'control', 'sweep', 'notify'] as const;
export type FunctionName = (typeof functionNames)[number];

/** The topic Artifact Registry publishes image pushes to (FACTS.md §1). */
export const artifactRegistryTopic = 'gcr';

export interface Trigger {
  topic: string;
  subscription: string;
}

export interface FunctionSpec {
  name: FunctionName;
  /** Topics whose messages run the function, each through its own push subscription. */
  triggers: Trigger[];
  /** Where a message goes after `maxDeliveryAttempts` failed deliveries. */
  deadLetterTopic: string;
  maxDeliveryAttempts: number;
  /** Seconds a delivery may take before Pub/Sub retries it (also the function's timeout budget). */
  ackDeadlineSeconds: number;
  memoryMiB: number;
  timeoutSeconds: number;
}

export interface Topology {
  /** Topic of each step function's hand-over messages. */
  stepTopic: Record<StepName, string>;
  controlTopic: string;
  sweepTopic: string;
  /** Outgoing release events (CloudEvents), for notifiers and anyone who subscribes. */
  eventsTopic: string;
  functions: FunctionSpec[];
}

/** The registry for a deployment whose names start with `prefix` (default "switchyard"). */
export function topology(prefix = 'switchyard'): Topology {
  const stepTopic = Object.fromEntries(stepNames.map((s) => [s, `${prefix}-${s}`])) as Record<
    StepName,
    string
  >;
  const controlTopic = `${prefix}-control`;
  const sweepTopic = `${prefix}-sweep`;
  const fn = (name: FunctionName, topics: string[], extra: Partial<FunctionSpec> = {}): FunctionSpec => ({
    name,
    triggers: topics.map((topic) => ({
      topic,
      subscription: topic === artifactRegistryTopic ? `${prefix}-${name}-gcr` : `${topic}-push`,
    })),
    deadLetterTopic: `${prefix}-${name}-dead-letter`,
    maxDeliveryAttempts: 10,
    ackDeadlineSeconds: 300,
    memoryMiB: 256,
    timeoutSeconds: 300,
    ...extra,
  });
  return {
    stepTopic,
    controlTopic,
    sweepTopic,
    eventsTopic: `${prefix}-events`,
    functions: [
      fn('deploy-green', [artifactRegistryTopic, stepTopic['deploy-green']]),
      fn('analyze', [stepTopic.analyze]),
      fn('switch', [stepTopic.switch]),
      fn('scale-down', [stepTopic['scale-down']]),
      fn('rollback', [stepTopic.rollback]),
      fn('control', [controlTopic]),
      fn('sweep', [sweepTopic], { timeoutSeconds: 120, ackDeadlineSeconds: 120, maxDeliveryAttempts: 5 }),
      // Delivers release events to the targets' notifiers (Slack, webhooks). Its retries are its own:
      // a notifier that fails never reaches back into a release.
      fn('notify', [`${prefix}-events`], {
        timeoutSeconds: 60,
        ackDeadlineSeconds: 60,
        maxDeliveryAttempts: 5,
      }),
    ],
  };
}
