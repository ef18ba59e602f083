// Kubernetes API clients with a deadline: every request Switchyard makes is abandoned after a few
// seconds (an 'unavailable' ClusterError), so a step's reads and writes end well inside its lease on
// the release. The adapter (cluster.ts) and the traffic routers build their clients here;
// KubeConfig.makeApiClient would give clients whose requests may hang as long as the socket does.
import {
  type Configuration,
  createConfiguration,
  type KubeConfig,
  type Middleware,
  ServerConfiguration,
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
