// Kubernetes API clients with a deadline: every request Switchyard makes is abandoned after a few
// seconds (an 'unavailable' ClusterError), so a step's reads and writes end well inside its lease on
// the release. The adapter (cluster.ts, through clusterApis()) and the traffic routers build their
// clients here; KubeConfig.makeApiClient would give clients whose requests may hang as long as the
// socket does.
import {
  AppsV1Api,
  AutoscalingV2Api,
  type Configuration,
  CoreV1Api,
  CustomObjectsApi,
  createConfiguration,
  DiscoveryV1Api,
  EventsV1Api,
  type KubeConfig,
  type Middleware,
  NetworkingV1Api,
  PatchStrategy,
  ServerConfiguration,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { ClusterError } from './errors.ts';

/** How long one Kubernetes API request may take before it is abandoned. */
export const defaultRequestTimeoutMs = 5_000;

export interface ClientOptions {
  /** Abandon each request after this long (default defaultRequestTimeoutMs). */
  requestTimeoutMs?: number;
  /** Hears of every request before it is sent (GET and HEAD are reads, the rest writes). */
  onRequest?: (kind: 'read' | 'write') => void;
}

/**
 * A client configuration for the current context of `kubeConfig`, built like
 * KubeConfig.makeApiClient's plus a middleware that puts a timeout signal on every request (and
 * reports it to `onRequest`). Throws 'invalid' when the kubeconfig has no current cluster.
 */
export function clientConfiguration(kubeConfig: KubeConfig, options: ClientOptions = {}): Configuration {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new ClusterError('invalid', 'the kubeconfig has no current cluster: pick a context');
  const timeoutMs = options.requestTimeoutMs ?? defaultRequestTimeoutMs;
  const deadline: Middleware = {
    pre: async (request) => {
      const method = request.getHttpMethod();
      options.onRequest?.(method === 'GET' || method === 'HEAD' ? 'read' : 'write');
      request.setSignal(AbortSignal.timeout(timeoutMs));
      return request;
    },
    post: async (response) => response,
  };
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [deadline],
  });
}

/** One API group's client (CoreV1Api, CustomObjectsApi, …) whose every request has a deadline. */
export function apiClient<T>(
  kubeConfig: KubeConfig,
  api: new (configuration: Configuration) => T,
  options: ClientOptions = {},
): T {
  return new api(clientConfiguration(kubeConfig, options));
}

/** The API groups' clients the adapter (cluster.ts) calls, sharing one configuration. */
export interface ClusterApis {
  apps: AppsV1Api;
  core: CoreV1Api;
  discovery: DiscoveryV1Api;
  autoscaling: AutoscalingV2Api;
  events: EventsV1Api;
  custom: CustomObjectsApi;
  networking: NetworkingV1Api;
}

/** Every client the adapter needs, built on one clientConfiguration() (one deadline, one count). */
export function clusterApis(kubeConfig: KubeConfig, options: ClientOptions = {}): ClusterApis {
  const configuration = clientConfiguration(kubeConfig, options);
  return {
    apps: new AppsV1Api(configuration),
    core: new CoreV1Api(configuration),
    discovery: new DiscoveryV1Api(configuration),
    autoscaling: new AutoscalingV2Api(configuration),
    events: new EventsV1Api(configuration),
    custom: new CustomObjectsApi(configuration),
    networking: new NetworkingV1Api(configuration),
  };
}

// Patches are JSON merge patches: they say the resulting values, and `null` removes a key, which
// is what replacing a Service selector needs. The client's default would be a JSON patch.
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
