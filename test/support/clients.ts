// Clients of the real Google libraries, pointed at the stack's emulators.
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { stack } from './stack.ts';

/** A Firestore client on the emulator; give each test its own project id to keep data apart. */
export function testFirestore(projectId: string): Firestore {
  return new Firestore({ projectId, host: stack().firestoreEmulatorHost, ssl: false });
}

/** A Pub/Sub client on the emulator, in the stack's project. */
export function testPubSub(): PubSub {
  return new PubSub({ projectId: stack().projectId, apiEndpoint: stack().pubsubEmulatorHost });
}
