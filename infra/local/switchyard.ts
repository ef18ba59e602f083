// Switchyard's own functions as the local stack hosts them: one functions-framework process per
// function of the registry (shared/topology.ts), all loading functions/index.ts.
import { join } from 'node:path';
import { topology } from '../../shared/topology.ts';
import type { HostedFunction } from './components/functions.ts';
import { freePort } from './process.ts';

const source = join(import.meta.dirname, '../../functions/index.ts');

/**
 * The installation settings of the local stack's functions, as Terraform sets them on GCP:
 * - secrets mounted at <stateDir>/secrets/<id>/<id>;
 * - egress: the stack's parts (Prometheus, test receivers) listen on loopback, so loopback is allowed;
 *   link-local and metadata addresses stay refused as everywhere;
 * - a hosts file consulted before DNS (local stack only), so tests can name a host that resolves to
 *   an address of their choosing (the metadata server's, say) without a DNS server;
 * - notifier secret grants read from <stateDir>/secret-grants.json (a secret it does not map is
 *   used by no target);
 * - Slack's Web API at a loopback address of its own, chosen when the functions start and kept in
 *   the stack's state (StackStatus.slackApiUrl): there is no Slack from these machines, so nothing
 *   of the stack's listens there; a test that stands in for Slack does, while it runs.
 */
export async function localInstallationEnv(stateDir: string): Promise<Record<string, string>> {
  return {
    SWITCHYARD_SECRETS_DIR: join(stateDir, 'secrets'),
    SWITCHYARD_EGRESS_ALLOW: '127.0.0.0/8,::1',
    SWITCHYARD_EGRESS_HOSTS_FILE: join(stateDir, 'egress-hosts.json'),
    SWITCHYARD_NOTIFY_SECRET_GRANTS: join(stateDir, 'secret-grants.json'),
    SWITCHYARD_SLACK_API_URL: `http://127.0.0.1:${await freePort()}/api`,
  };
}

export function switchyardFunctions(prefix = 'switchyard'): HostedFunction[] {
  return topology(prefix).functions.map((fn) => ({
    name: fn.name,
    source,
    triggers: fn.triggers,
    deadLetterTopic: fn.deadLetterTopic,
    maxDeliveryAttempts: fn.maxDeliveryAttempts,
    ackDeadlineSeconds: fn.ackDeadlineSeconds,
  }));
}
