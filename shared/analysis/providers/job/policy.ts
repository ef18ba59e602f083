// What a `job` metric's pod may be (issue 11). The Job runs in the target's namespace with the
// functions' identity creating it, so without a policy a target author could run any pod there: as
// any service account of the namespace, privileged, on the node's network or PID namespace, with a
// hostPath mount of the node's filesystem. The rules are those of the Pod Security Standards'
// baseline profile that matter for a test runner, stricter where a test runner needs nothing
// (no added capabilities at all), plus an installation allow-list of service accounts.
// Checked by the job schema (validate, apply, and the step's re-validation of a stored target) and
// again by the provider just before it creates the Job. Pure, but for installationJobPolicy().
import { jobPolicyConfig } from '../../../config.ts';

/** The installation's rules for `job` pods. */
export interface JobPolicy {
  /** Service accounts a Job's pod may run as (the pod's serviceAccountName; absent is `default`). */
  serviceAccounts: readonly string[];
}

/** Only the namespace's `default` service account, unless the installation names others. */
export const defaultJobPolicy: JobPolicy = { serviceAccounts: ['default'] };

/** One refusal: where in the job configuration, and why. */
export interface PolicyViolation {
  /** Path from the job configuration, e.g. ['spec', 'template', 'spec', 'hostNetwork']. */
  path: (string | number)[];
  message: string;
}

type Loose = Record<string, unknown>;
const isObject = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The containers of a pod spec, by the field that holds them. */
const containerFields = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/**
 * Every way the pod template of `config` (a job configuration: `{spec: JobSpec}`) breaks `policy`,
 * in field order; [] when it keeps it. Reads the configuration as loose data (it may not have been
 * validated), so it never throws.
 */
export function jobPolicyViolations(config: unknown, policy: JobPolicy): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  const at = ['spec', 'template', 'spec'];
  const job = isObject(config) && isObject(config.spec) ? config.spec : {};
  const pod = isObject(job.template) && isObject(job.template.spec) ? job.template.spec : {};
  const refuse = (path: (string | number)[], message: string) =>
    out.push({ path: [...at, ...path], message });

  const allowed = policy.serviceAccounts;
  const allowedText = `the installation allows ${allowed.map((s) => `"${s}"`).join(', ') || 'none'} (SWITCHYARD_JOB_SERVICE_ACCOUNTS)`;
  for (const field of ['serviceAccountName', 'serviceAccount'] as const) {
    const name = pod[field];
    if (name !== undefined && (typeof name !== 'string' || !allowed.includes(name))) {
      refuse([field], `service account ${JSON.stringify(name)} is not one a Job may run as: ${allowedText}`);
    }
  }
  if (
    pod.serviceAccountName === undefined &&
    pod.serviceAccount === undefined &&
    !allowed.includes('default')
  ) {
    refuse(['serviceAccountName'], `required: the pod would run as "default", and ${allowedText}`);
  }
  for (const [field, what] of [
    ['hostNetwork', 'network'],
    ['hostPID', 'PID'],
    ['hostIPC', 'IPC'],
  ] as const) {
    if (pod[field] === true) {
      refuse([field], `must not be true: a Job's pod does not share the node's ${what} namespace`);
    }
  }
  list(pod.volumes).forEach((volume, i) => {
    if (isObject(volume) && volume.hostPath !== undefined) {
      refuse(['volumes', i, 'hostPath'], "hostPath volumes are refused: they expose the node's filesystem");
    }
  });
  const podSecurity = isObject(pod.securityContext) ? pod.securityContext : {};
  if (isObject(podSecurity.windowsOptions) && podSecurity.windowsOptions.hostProcess === true) {
    refuse(
      ['securityContext', 'windowsOptions', 'hostProcess'],
      'must not be true: host processes are refused',
    );
  }
  for (const field of containerFields) {
    list(pod[field]).forEach((container, i) => {
      if (!isObject(container)) return;
      const here = [field, i];
      const security = isObject(container.securityContext) ? container.securityContext : {};
      const sc = [...here, 'securityContext'];
      if (security.privileged === true)
        refuse([...sc, 'privileged'], 'must not be true: privileged containers are refused');
      if (security.allowPrivilegeEscalation === true) {
        refuse(
          [...sc, 'allowPrivilegeEscalation'],
          "must not be true: a Job's container may not gain privileges",
        );
      }
      const added = isObject(security.capabilities) ? list(security.capabilities.add) : [];
      if (added.length > 0) {
        refuse(
          [...sc, 'capabilities', 'add'],
          `adds ${added.map(String).join(', ')}: added capabilities are refused (drop is fine)`,
        );
      }
      if (security.procMount !== undefined && security.procMount !== 'Default') {
        refuse([...sc, 'procMount'], 'must be Default: an unmasked /proc is refused');
      }
      if (isObject(security.windowsOptions) && security.windowsOptions.hostProcess === true) {
        refuse([...sc, 'windowsOptions', 'hostProcess'], 'must not be true: host processes are refused');
      }
      list(container.ports).forEach((port, j) => {
        if (isObject(port) && port.hostPort !== undefined && port.hostPort !== 0) {
          refuse(
            [...here, 'ports', j, 'hostPort'],
            "host ports are refused: they bind the node's own address",
          );
        }
      });
    });
  }
  return out;
}

/**
 * Reads the policy from SWITCHYARD_JOB_SERVICE_ACCOUNTS: comma-separated service account names
 * (default: `default` only). Throws on a name that cannot be a service account.
 */
export function parseJobPolicy(serviceAccounts: string | undefined): JobPolicy {
  if (serviceAccounts === undefined || serviceAccounts.trim() === '') return defaultJobPolicy;
  const names = serviceAccounts
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names) {
    if (
      name.length > 253 ||
      !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name)
    ) {
      throw new Error(
        `SWITCHYARD_JOB_SERVICE_ACCOUNTS: ${JSON.stringify(name)} is not a service account name (a DNS-1123 subdomain)`,
      );
    }
  }
  return { serviceAccounts: names };
}

/** The policy of this installation, from its environment (config.ts). Throws on a bad setting. */
export function installationJobPolicy(env: NodeJS.ProcessEnv = process.env): JobPolicy {
  return parseJobPolicy(jobPolicyConfig(env).serviceAccounts);
}
