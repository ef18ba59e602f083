// The installation's registry check, from its environment: SWITCHYARD_REGISTRY_ENDPOINTS (hosts
// mapped to other endpoints, e.g. the local stack's registry) and SWITCHYARD_REGISTRY_TIMEOUT_MS
// (default 10 s for the digest and tag lookups together). Requests go out under the installation's
// egress policy (shared/egress): no redirect is followed (the token never leaves the registry's
// origin), answers are capped, and what a name resolves to is checked.
import { installationPolicy } from '../egress/fetch.ts';
import type { ParsedPush } from '../engine/intake.ts';
import { checkPushedImage } from './check.ts';
import { registryToken } from './token.ts';
import { endpointsVariable, parseRegistryEndpoints, type RegistryEndpoints } from './trust.ts';

export interface RegistryVerifier {
  /** null when the pushed image is in the registry as the push says; else the reason it is refused. Throws RegistryUnavailableError when the registry cannot be asked. */
  verify(push: ParsedPush): Promise<string | null>;
}

let cached: { source: string | undefined; endpoints: RegistryEndpoints } | undefined;

function endpoints(): RegistryEndpoints {
  const source = process.env[endpointsVariable];
  if (!cached || cached.source !== source) cached = { source, endpoints: parseRegistryEndpoints(source) };
  return cached.endpoints;
}

export function installationRegistry(): RegistryVerifier {
  return {
    verify: (push) =>
      checkPushedImage(push, {
        endpoints: endpoints(),
        token: registryToken,
        timeoutMs: Number(process.env.SWITCHYARD_REGISTRY_TIMEOUT_MS ?? 10_000),
        egress: { policy: installationPolicy() },
      }),
  };
}
