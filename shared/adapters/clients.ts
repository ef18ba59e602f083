// Google clients for a configuration: the emulators when their hosts are set, Google Cloud otherwise
// (Application Default Credentials).
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import type { Config } from '../config.ts';

export function firestoreClient(cfg: Config): Firestore {
  if (cfg.firestoreEmulatorHost) {
    return new Firestore({
      projectId: cfg.projectId,
      databaseId: cfg.databaseId,
      host: cfg.firestoreEmulatorHost,
      ssl: false,
      ignoreUndefinedProperties: true,
    });
  }
  return new Firestore({
    projectId: cfg.projectId,
    databaseId: cfg.databaseId,
    ignoreUndefinedProperties: true,
  });
}

export function pubsubClient(cfg: Config): PubSub {
  if (cfg.pubsubEmulatorHost)
    return new PubSub({ projectId: cfg.projectId, apiEndpoint: cfg.pubsubEmulatorHost });
  return new PubSub({ projectId: cfg.projectId });
}
