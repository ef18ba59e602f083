// Clients of the real Google libraries, pointed at the stack's emulators.
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { type StackInfo, stack } from './stack.ts';

/**
 * A Firestore client on the emulator; give each test its own project id to keep data apart.
 * `on`: another stack than the run's (a private one, test/support/private-stack.ts).
 */
export function testFirestore(projectId: string, on: StackInfo = stack()): Firestore {
  return new Firestore({ projectId, host: on.firestoreEmulatorHost, ssl: false });
}

/** A Pub/Sub client on the emulator, in the stack's project (`on`: another stack than the run's). */
export function testPubSub(on: StackInfo = stack()): PubSub {
  return new PubSub({ projectId: on.projectId, apiEndpoint: on.pubsubEmulatorHost });
}
