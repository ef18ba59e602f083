// The one way a client of an installation talks to it: an Artifact Registry notification published
// on `gcr` (as a push would), a signed control or apply message published on the control topic, and
// its answer, which the control function records under the message's request id (requests/<id>).
// The CLI's commands, the demo and the tests' fixtures all go through here.
import type { DocumentReference } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import type { RequestRecord, Store } from '../shared/adapters/store.ts';
import type {
  ArtifactRegistryMessage,
  SignedApplyMessage,
  SignedControlMessage,
} from '../shared/messages.ts';
import { artifactRegistryTopic, topology } from '../shared/topology.ts';

export type ClientMessage = (SignedControlMessage | SignedApplyMessage) & { requestId: string };

export interface Installation {
  pubsub: PubSub;
  store: Store;
  /** The installation's name prefix (topics are `<prefix>-control`, …). */
  prefix: string;
}

/**
 * Publishes an Artifact Registry notification for `repository@digest` (with its tag, if any) on
 * `gcr`, the topic Artifact Registry publishes on in the project; returns the message id.
 */
export function publishPush(
  pubsub: PubSub,
  push: { action: ArtifactRegistryMessage['action']; image: string; repository: string; tag?: string },
): Promise<string> {
  const message: ArtifactRegistryMessage = {
    action: push.action,
    digest: push.image,
    ...(push.tag ? { tag: `${push.repository}:${push.tag}` } : {}),
  };
  return pubsub.topic(artifactRegistryTopic).publishMessage({ json: message });
}

/** Publishes the message on the installation's control topic. */
export async function publishControl(to: Installation, message: ClientMessage): Promise<void> {
  const attributes: Record<string, string> = { command: message.command };
  if ('target' in message && message.target) attributes.target = message.target;
  await to.pubsub.topic(topology(to.prefix).controlTopic).publishMessage({ json: message, attributes });
}

/** Publishes the message and waits for its recorded answer: null when none came within `timeoutMs`. */
export async function sendControl(
  to: Installation,
  message: ClientMessage,
  timeoutMs: number,
): Promise<RequestRecord | null> {
  // Listening first: an answer recorded before the listener started is still its first snapshot.
  const answer = waitForDoc<RequestRecord>(to.store.requestRef(message.requestId), timeoutMs);
  try {
    await publishControl(to, message);
  } catch (err) {
    answer.cancel();
    throw err;
  }
  return answer;
}

/** Resolves with the document's data once it exists (a Firestore listener), or null after the timeout. */
export function waitForDoc<T>(
  ref: DocumentReference,
  timeoutMs: number,
): Promise<T | null> & { cancel: () => void } {
  let cancel = () => {};
  const promise = new Promise<T | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      resolve(null);
    }, timeoutMs);
    const stop = ref.onSnapshot(
      (snap) => {
        if (!snap.exists) return;
        clearTimeout(timer);
        stop();
        resolve(snap.data() as T);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
    cancel = () => {
      clearTimeout(timer);
      stop();
      resolve(null);
    };
  });
  return Object.assign(promise, { cancel });
}
