// Which registries the push intake asks about a pushed image, and where. Pure.
//
// The function's Google token goes only to Google's own registries: Artifact Registry
// (`<location>-docker.pkg.dev`) and Container Registry (`gcr.io`, `<region>.gcr.io`). A notification
// naming any other host is refused without contacting it: anyone who may publish on `gcr` could
// otherwise make deploy-green send its token to a host of their choosing. An installation may map
// a trusted host to another endpoint (SWITCHYARD_REGISTRY_ENDPOINTS, e.g. the local stack's
// registry for `us-docker.pkg.dev`); a mapped endpoint is the installation's own and gets no token.
import { z } from 'zod';

const artifactRegistryHost = /^[a-z][a-z0-9-]*[a-z0-9]-docker\.pkg\.dev$/;
const containerRegistryHost = /^(?:[a-z]+\.)?gcr\.io$/;

/** Whether the token may be sent to `host` (a registry host name, lower case, no port). */
export function trustedRegistryHost(host: string): boolean {
  return artifactRegistryHost.test(host) || containerRegistryHost.test(host);
}

/** The variable that maps trusted registry hosts to other endpoints (JSON object). */
export const endpointsVariable = 'SWITCHYARD_REGISTRY_ENDPOINTS';

export type RegistryEndpoints = ReadonlyMap<string, string>;

const endpointsShape = z.record(z.string(), z.string());

/**
 * Reads SWITCHYARD_REGISTRY_ENDPOINTS: `us-docker.pkg.dev=http://127.0.0.1:5000` (pairs separated by
 * commas: safe in a shell export), or the same as JSON, `{"us-docker.pkg.dev":"http://127.0.0.1:5000"}`.
 * Only trusted hosts may be mapped, to http(s) URLs without a path; anything else throws (a typo
 * refuses every push rather than sending anything anywhere unexpected).
 */
export function parseRegistryEndpoints(source: string | undefined): RegistryEndpoints {
  const map = new Map<string, string>();
  if (!source?.trim()) return map;
  let entries: [string, string][];
  if (source.trim().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(source);
    } catch {
      throw new Error(`${endpointsVariable} is not JSON: expected {"<registry host>":"http://host:port"}`);
    }
    const checked = endpointsShape.safeParse(parsed);
    if (!checked.success) {
      throw new Error(`${endpointsVariable} must be a JSON object of registry host to URL`);
    }
    entries = Object.entries(checked.data);
  } else {
    entries = source.split(',').map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`${endpointsVariable}: ${pair} is not <registry host>=<URL>`);
      return [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
    });
  }
  for (const [host, url] of entries) {
    const name = host.toLowerCase();
    if (!trustedRegistryHost(name)) {
      throw new Error(
        `${endpointsVariable} maps ${host}, which is not an Artifact Registry or Container Registry host`,
      );
    }
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new Error(`${endpointsVariable}: ${url} (for ${host}) is not a URL`);
    }
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || (u.pathname !== '/' && u.pathname !== '')) {
      throw new Error(`${endpointsVariable}: ${url} (for ${host}) must be http(s)://host[:port], no path`);
    }
    map.set(name, u.origin);
  }
  return map;
}

/** Where to ask about a repository's images, or why not to ask at all. */
export type RegistryLocation =
  | {
      /** The host as the image names it. */
      host: string;
      /** The repository's name inside the registry (`project/repo/image`). */
      name: string;
      /** Base URL of the registry's /v2/ API. */
      baseUrl: string;
      /** Whether the function's Google token goes with the request (Google's own hosts only). */
      withToken: boolean;
    }
  | { refused: string };

/** Where `repository` (`host/project/repo/image`, as the notification names it) is asked about. */
export function locateRepository(repository: string, endpoints: RegistryEndpoints): RegistryLocation {
  const slash = repository.indexOf('/');
  const host = slash > 0 ? repository.slice(0, slash).toLowerCase() : '';
  const name = slash > 0 ? repository.slice(slash + 1) : '';
  if (!host || !name || !trustedRegistryHost(host)) {
    return {
      refused: `${repository}: not an Artifact Registry image (its host ${host || '(none)'} is not <location>-docker.pkg.dev or gcr.io), so the registry is not asked and nothing is released`,
    };
  }
  const mapped = endpoints.get(host);
  if (mapped) return { host, name, baseUrl: mapped, withToken: false };
  return { host, name, baseUrl: `https://${host}`, withToken: true };
}
