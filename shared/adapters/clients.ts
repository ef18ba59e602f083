// Google clients for a configuration: the emulators when their hosts are set, Google Cloud otherwise
// (Application Default Credentials).
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import type { Config } from '../config.ts';

/** On the emulators there is no Google metadata server; stop the auth library probing for one. */
function noMetadataServer(): void {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
}

export function firestoreClient(cfg: Config): Firestore {
  if (cfg.firestoreEmulatorHost) {
    noMetadataServer();
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
  if (cfg.pubsubEmulatorHost) {
    noMetadataServer();
    return new PubSub({ projectId: cfg.projectId, apiEndpoint: cfg.pubsubEmulatorHost });
  }
  return new PubSub({ projectId: cfg.projectId });
}
