// Durable timers (SPEC §8). A release's next wake-up is stored with it in Firestore. When it is due
// soon, the function that scheduled it waits and publishes the step itself (precise to milliseconds);
// later ones are published by the sweep, which runs every minute and waits for those due before the
// next run. A wake-up whose function died is found by the sweep once it is overdue.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Release, Wake } from '../engine/release.ts';
import type { StepMessage } from '../messages.ts';
import type { Deps } from './deps.ts';
import { count } from './metrics.ts';

/** Marks whether this process will fire the wake-up itself (decided before the commit). */
export function planWake(d: Deps, release: Release): Release {
  if (!release.wake) return release;
  return { ...release, wake: { ...release.wake, inline: release.wake.at - d.now() <= d.inlineWaitMs } };
}

/** Fires the release's wake-up when this process owns it (inline), after waiting until it is due. */
export async function dispatchWake(d: Deps, release: Release): Promise<void> {
  if (!release.wake?.inline) return;
  await fire(d, release, release.wake);
}

/** Waits until the wake-up is due, then publishes its step message. */
export async function fire(d: Deps, release: Pick<Release, 'id' | 'target'>, wake: Wake): Promise<void> {
  const delay = wake.at - d.now();
  if (delay > 0) await sleep(delay);
  await publishStep(d, release, wake);
}

/** Publishes the step message of a wake-up now. */
export async function publishStep(
  d: Deps,
  release: Pick<Release, 'id' | 'target'>,
  wake: Wake,
): Promise<void> {
  const msg: StepMessage = {
    kind: 'step',
    releaseId: release.id,
    target: release.target,
    step: wake.step,
    seq: wake.seq,
  };
  count('pubsubPublishes');
  await d.pubsub.topic(d.topology.stepTopic[wake.step]).publishMessage({
    json: msg,
    attributes: { releaseId: release.id, target: release.target, step: wake.step },
  });
}
