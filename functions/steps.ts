// The five step functions of a release: deploy-green, analyze, switch, scale-down, rollback.
// deploy-green also takes Artifact Registry's pushes from the `gcr` topic and starts releases.
import { describeIssues, stepMessage } from '../shared/messages.ts';
import type { Deps } from '../shared/runtime/deps.ts';
import { runPush } from '../shared/runtime/push.ts';
import { runStep } from '../shared/runtime/step.ts';
import { artifactRegistryTopic, type StepName } from '../shared/topology.ts';
import type { Incoming } from './shell.ts';

function runStepMessage(step: StepName) {
  return async (d: Deps, msg: Incoming) => {
    const parsed = stepMessage.safeParse(msg.data);
    if (!parsed.success) {
      d.log.warn(`${step}: dropped a malformed step message: ${describeIssues(parsed.error)}`, {
        message: msg.data,
      });
      return;
    }
    if (parsed.data.step !== step) {
      d.log.warn(`${step}: dropped a message for step ${parsed.data.step}`, {
        releaseId: parsed.data.releaseId,
      });
      return;
    }
    return runStep(d, parsed.data);
  };
}

export const deployGreen = async (d: Deps, msg: Incoming) =>
  msg.topic === artifactRegistryTopic
    ? runPush(d, msg.messageId, msg.data)
    : runStepMessage('deploy-green')(d, msg);
export const analyze = runStepMessage('analyze');
export const switchTraffic = runStepMessage('switch');
export const scaleDown = runStepMessage('scale-down');
export const rollback = runStepMessage('rollback');
