// How Switchyard reaches a target's cluster: a kubeconfig context (local clusters, CLI), or a GKE
// cluster looked up through the Container API with a Google access token — Cloud Functions have no
// kubeconfig file and no gcloud, so the KubeConfig is built in memory (FACTS §4).
import { KubeConfig } from '@kubernetes/client-node';
// The container API alone: importing all of googleapis costs ~0.7 s of cold start.
import { container, auth as googleAuth } from 'googleapis/build/src/apis/container/index.js';
import { ClusterError, errorKindOfStatus } from './errors.ts';
import type { ClusterRef } from './types.ts';

/** A Google OAuth access token and when it expires (ms since epoch; undefined: unknown). */
export interface AccessToken {
  token: string;
  expiresAt: number | undefined;
}

/** Where access tokens come from; the default is Application Default Credentials. */
export type TokenProvider = () => Promise<AccessToken>;

export interface ConnectOptions {
  /** Root URL of the Container API (a local fake in tests). Default https://container.googleapis.com/. */
  containerApiRoot?: string;
  /** Source of access tokens (tests inject one so no Google credentials are needed). */
  tokenProvider?: TokenProvider;
  /** Clock, in ms since epoch (tests move it to check token refresh). */
  now?: () => number;
}

/**
 * GKE accepts Google identities only with the userinfo.email scope, which default Compute Engine
 * credentials lack; cloud-platform covers clusters.get.
 */
export const gkeScopes = [
  'https://www.googleapis.com/auth/cloud-platform',
  'https://www.googleapis.com/auth/userinfo.email',
];

/** A token is renewed when less than this is left, so no request goes out with a dying token. */
export const tokenRefreshMarginMs = 5 * 60_000;

const gkeNamePattern = /^projects\/([^/]+)\/locations\/([^/]+)\/clusters\/([^/]+)$/;
const authProviderName = 'switchyard-gke';

/**
 * A KubeConfig for a target's cluster. `{context}`: the kubeconfig at `kubeconfigPath`, or the
 * default one ($KUBECONFIG, ~/.kube/config), switched to that context (an error lists the contexts
 * there are). `{gke}`: the cluster `projects/P/locations/L/clusters/C` read through the Container API,
 * server `https://<endpoint>` trusting the cluster's CA, authenticated with a Google access token
 * that is cached per cluster and renewed before it expires, on every request the KubeConfig makes.
 * Throws ClusterError: 'invalid' (bad name, unknown context, cluster without endpoint), or the kind of
 * the Container API's answer ('not-found', 'forbidden', 'unavailable', ...).
 */
export async function connect(
  ref: ClusterRef,
  kubeconfigPath?: string,
  options: ConnectOptions = {},
): Promise<KubeConfig> {
  return 'gke' in ref ? connectGke(ref.gke, options) : connectContext(ref.context, kubeconfigPath);
}

function connectContext(context: string, kubeconfigPath: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  const source = kubeconfigPath ?? (process.env.KUBECONFIG || '~/.kube/config');
  try {
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromDefault();
  } catch (err) {
    throw new ClusterError('invalid', `cannot load kubeconfig ${source}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!kc.getContextObject(context)) {
    const known = kc.getContexts().map((c) => `"${c.name}"`);
    throw new ClusterError(
      'invalid',
      `kubeconfig ${source} has no context "${context}" (contexts: ${known.join(', ') || 'none'}): fix cluster in the release target`,
    );
  }
  kc.setCurrentContext(context);
  return kc;
}

async function connectGke(name: string, options: ConnectOptions): Promise<KubeConfig> {
  const match = gkeNamePattern.exec(name);
  if (!match) {
    throw new ClusterError(
      'invalid',
      `"${name}" is not a GKE cluster name: expected projects/PROJECT/locations/LOCATION/clusters/CLUSTER`,
    );
  }
  const tokens = tokenCache(options.tokenProvider ?? defaultTokenProvider(), name, options.now ?? Date.now);
  const token = await tokens.get();

  let cluster: Awaited<ReturnType<typeof getCluster>>;
  try {
    cluster = await getCluster(name, token, options.containerApiRoot);
  } catch (err) {
    const status =
      (err as { status?: unknown; response?: { status?: unknown } }).status ??
      (err as { response?: { status?: unknown } }).response?.status;
    const kind = typeof status === 'number' ? errorKindOfStatus(status) : 'unavailable';
    throw new ClusterError(kind, `reading GKE cluster ${name}: ${(err as Error).message}`, {
      cause: err,
      ...(typeof status === 'number' ? { status } : {}),
    });
  }

  // The IP endpoint is signed by the cluster's own CA; a DNS endpoint (when that is all there is)
  // carries a publicly trusted certificate.
  const dnsEndpoint = cluster.controlPlaneEndpointsConfig?.dnsEndpointConfig?.endpoint;
  const server = cluster.endpoint ?? dnsEndpoint;
  if (!server) {
    throw new ClusterError('invalid', `GKE cluster ${name} has no endpoint yet (status ${cluster.status})`);
  }
  const caData = cluster.endpoint ? (cluster.masterAuth?.clusterCaCertificate ?? undefined) : undefined;

  const kc = new KubeConfig();
  kc.addAuthenticator({
    isAuthProvider: (user) => user.authProvider?.name === authProviderName,
    applyAuthentication: async (_user, opts) => {
      // KubeConfig has set opts.headers to an object before it calls an authenticator.
      const headers = (opts.headers ?? {}) as Record<string, string>;
      headers.Authorization = `Bearer ${await tokens.get()}`;
      opts.headers = headers;
    },
  });
  kc.loadFromClusterAndUser(
    { name, server: `https://${server}`, caData, skipTLSVerify: false },
    // No static `token`: KubeConfig would send it as is, while the authenticator renews it.
    { name: `${name}/switchyard`, authProvider: { name: authProviderName, config: {} } },
  );
  return kc;
}

function getCluster(name: string, token: string, rootUrl: string | undefined) {
  const api = container({ version: 'v1', ...(rootUrl ? { rootUrl } : {}) });
  return api.projects.locations.clusters
    .get({ name }, { headers: { Authorization: `Bearer ${token}` } })
    .then((res) => res.data);
}

let adc: TokenProvider | undefined;

/** Application Default Credentials with the GKE scopes (one GoogleAuth per process). */
function defaultTokenProvider(): TokenProvider {
  if (adc) return adc;
  const gauth = new googleAuth.GoogleAuth({ scopes: gkeScopes });
  adc = async () => {
    const client = await gauth.getClient();
    const { token } = await client.getAccessToken();
    if (!token) throw new ClusterError('forbidden', 'Application Default Credentials gave no access token');
    return { token, expiresAt: client.credentials.expiry_date ?? undefined };
  };
  return adc;
}

interface TokenCache {
  get(): Promise<string>;
}

// Per token provider, per cluster: a warm function instance reuses tokens across invocations.
const tokenCaches = new WeakMap<TokenProvider, Map<string, TokenCache>>();

function tokenCache(provider: TokenProvider, cluster: string, now: () => number): TokenCache {
  let byCluster = tokenCaches.get(provider);
  if (!byCluster) {
    byCluster = new Map();
    tokenCaches.set(provider, byCluster);
  }
  let cache = byCluster.get(cluster);
  if (!cache) {
    let current: AccessToken | undefined;
    let pending: Promise<AccessToken> | undefined;
    cache = {
      async get() {
        // Unknown expiry counts as expiring: ask the provider again (ADC caches on its side).
        if (current?.expiresAt !== undefined && current.expiresAt - now() > tokenRefreshMarginMs) {
          return current.token;
        }
        // Concurrent requests share one fetch.
        pending ??= provider()
          .then((t) => {
            current = t;
            return t;
          })
          .finally(() => {
            pending = undefined;
          });
        return (await pending).token;
      },
    };
    byCluster.set(cluster, cache);
  }
  return cache;
}
