// What the function runtimes need from the outside world, built once per process (lazily).
import { randomUUID } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import type { KubeConfig } from '@kubernetes/client-node';
import { firestoreClient, pubsubClient } from '../adapters/clients.ts';
import { Store } from '../adapters/store.ts';
import { config } from '../config.ts';
import type { EngineTarget } from '../engine/target.ts';
import type { AccessPolicy, Principal } from '../identity/access.ts';
import { type Verified, verifyIdToken } from '../identity/token.ts';
import { KubernetesCluster } from '../kubernetes/cluster.ts';
import { connect } from '../kubernetes/connect.ts';
import type { Cluster } from '../kubernetes/types.ts';
import { type Logger, logger } from '../log.ts';
import type { DeliveryOptions } from '../notify/deliver.ts';
import type { EventContext } from '../notify/event.ts';
import { type Topology, topology } from '../topology.ts';
import { count } from './metrics.ts';

export interface Deps {
  db: Firestore;
  store: Store;
  pubsub: PubSub;
  topology: Topology;
  /** The cluster of a target (connections are cached per cluster). */
  clusterFor(target: EngineTarget): Promise<Cluster>;
  /** The same cluster's credentials, for metric providers that talk to it (web proxy, Jobs). */
  kubeConfigFor(target: EngineTarget): Promise<KubeConfig>;
  now(): number;
  /** Identifies this process in leases. */
  owner: string;
  log: Logger;
  /** Longest wait a function does itself before a timer is left to the sweep. */
  inlineWaitMs: number;
  /** How long a step's claim on a release holds if its function dies. */
  leaseMs: number;
  /** How far ahead the sweep fires timers. */
  sweepLookaheadMs: number;
  /** Where release events come from, for their CloudEvent source and links. */
  events: EventContext;
  /**
   * How notifications are delivered, where the notify function's secrets are mounted, and where
   * Slack's Web API is (the installation's, SWITCHYARD_SLACK_API_URL).
   */
  notify: DeliveryOptions & { secretsDir: string; slackApiUrl: string };
  /** Who sent a control message (its ID token verified) and who may run commands by default. */
  identity: {
    /** Verifies an ID token for this installation; throws (kind unavailable) when the issuer's keys cannot be read. */
    verify(token: string): Promise<Verified>;
    /** The installation's operators: they may run every command on a target without spec.access. */
    operators: readonly Principal[];
    /** The installation's access policy (SWITCHYARD_ACCESS_POLICY): rules by label selector. */
    policy?: AccessPolicy;
  };
}

let cached: Deps | undefined;

/** The process's dependencies, from its environment (config()). */
export function deps(): Deps {
  if (cached) return cached;
  const cfg = config();
  const db = firestoreClient(cfg);
  const clusters = new Map<string, Promise<{ kc: KubeConfig; cluster: Cluster }>>();
  const connected = (target: EngineTarget) => {
    const key = JSON.stringify(target.spec.cluster);
    let c = clusters.get(key);
    if (!c) {
      c = connect(target.spec.cluster, cfg.kubeconfig).then((kc) => ({
        kc,
        cluster: new KubernetesCluster(kc, (kind) =>
          count(kind === 'read' ? 'kubernetesReads' : 'kubernetesWrites'),
        ),
      }));
      c.catch(() => clusters.delete(key));
      clusters.set(key, c);
    }
    return c;
  };
  cached = {
    db,
    store: new Store(db),
    pubsub: pubsubClient(cfg),
    topology: topology(cfg.prefix),
    clusterFor: async (target) => (await connected(target)).cluster,
    kubeConfigFor: async (target) => (await connected(target)).kc,
    now: () => Date.now(),
    owner: `${process.env.K_REVISION ?? 'local'}/${process.pid}/${randomUUID().slice(0, 8)}`,
    log: logger({ service: 'switchyard' }),
    inlineWaitMs: cfg.inlineWaitMs,
    leaseMs: cfg.leaseMs,
    sweepLookaheadMs: cfg.sweepLookaheadMs,
    events: { projectId: cfg.projectId, local: cfg.firestoreEmulatorHost !== undefined },
    notify: {
      timeoutMs: cfg.notifyTimeoutMs,
      attempts: 3,
      backoffMs: 500,
      secretsDir: cfg.secretsDir,
      slackApiUrl: cfg.slackApiUrl,
    },
    identity: {
      verify: (token) => verifyIdToken(token, cfg.identity),
      operators: cfg.operators,
      policy: cfg.accessPolicy,
    },
  };
  return cached;
}
