// The Job policy: what a `job` metric's pod may not be, each refusal at its field, checked by the
// schema (validate) and again by the provider before it creates anything.
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { MeasureContext } from '../../provider.ts';
import { jobConfigSchema, jobProvider } from './index.ts';
import { defaultJobPolicy, jobPolicyViolations, parseJobPolicy } from './policy.ts';

// biome-ignore lint/suspicious/noExplicitAny: pod specs are built loose, as a target author writes them.
type Loose = Record<string, any>;
const container = (over: Loose = {}) => ({ name: 'suite', image: 'example.com/newman:6', ...over });
const job = (pod: Loose) => ({ spec: { template: { spec: { containers: [container()], ...pod } } } });
const violations = (pod: Loose, policy = defaultJobPolicy) =>
  jobPolicyViolations(job(pod), policy).map((v) => [v.path.join('.'), v.message]);
const pod = 'spec.template.spec';

describe('job policy', () => {
  it('lets a plain test runner through, as the default service account, dropping capabilities', () => {
    expect(violations({})).toEqual([]);
    expect(
      violations({
        serviceAccountName: 'default',
        containers: [
          container({
            securityContext: {
              allowPrivilegeEscalation: false,
              capabilities: { drop: ['ALL'] },
              privileged: false,
            },
          }),
        ],
        volumes: [{ name: 'scratch', emptyDir: {} }],
      }),
    ).toEqual([]);
  });

  it('refuses a service account the installation does not allow, and allows the ones it names', () => {
    expect(violations({ serviceAccountName: 'deployer' })).toEqual([
      [
        `${pod}.serviceAccountName`,
        'service account "deployer" is not one a Job may run as: the installation allows "default" (SWITCHYARD_JOB_SERVICE_ACCOUNTS)',
      ],
    ]);
    expect(violations({ serviceAccount: 'deployer' })[0]?.[0]).toBe(`${pod}.serviceAccount`);
    const policy = parseJobPolicy('tests, smoke');
    expect(policy).toEqual({ serviceAccounts: ['tests', 'smoke'] });
    expect(violations({ serviceAccountName: 'smoke' }, policy)).toEqual([]);
    // Without default in the list, leaving the service account out runs as default: refused.
    expect(violations({}, policy)).toEqual([
      [`${pod}.serviceAccountName`, expect.stringMatching(/^required: /)],
    ]);
  });

  it('refuses host namespaces, hostPath, host ports and host processes, each at its field', () => {
    expect(
      violations({
        hostNetwork: true,
        hostPID: true,
        hostIPC: true,
        volumes: [
          { name: 'ok', emptyDir: {} },
          { name: 'root', hostPath: { path: '/' } },
        ],
        containers: [container({ ports: [{ containerPort: 80, hostPort: 80 }] })],
        securityContext: { windowsOptions: { hostProcess: true } },
      }).map(([path]) => path),
    ).toEqual([
      `${pod}.hostNetwork`,
      `${pod}.hostPID`,
      `${pod}.hostIPC`,
      `${pod}.volumes.1.hostPath`,
      `${pod}.securityContext.windowsOptions.hostProcess`,
      `${pod}.containers.0.ports.0.hostPort`,
    ]);
  });

  it('refuses privileged containers, privilege escalation, added capabilities and an unmasked /proc, in every container list', () => {
    const found = violations({
      initContainers: [container({ name: 'init', securityContext: { privileged: true } })],
      containers: [
        container({
          securityContext: {
            allowPrivilegeEscalation: true,
            capabilities: { add: ['SYS_ADMIN', 'NET_RAW'] },
            procMount: 'Unmasked',
          },
        }),
      ],
      ephemeralContainers: [container({ name: 'debug', securityContext: { privileged: true } })],
    });
    expect(found).toEqual([
      [
        `${pod}.initContainers.0.securityContext.privileged`,
        'must not be true: privileged containers are refused',
      ],
      [
        `${pod}.containers.0.securityContext.allowPrivilegeEscalation`,
        expect.stringMatching(/^must not be true/),
      ],
      [
        `${pod}.containers.0.securityContext.capabilities.add`,
        expect.stringMatching(/^adds SYS_ADMIN, NET_RAW: added/),
      ],
      [`${pod}.containers.0.securityContext.procMount`, expect.stringMatching(/^must be Default/)],
      [`${pod}.ephemeralContainers.0.securityContext.privileged`, expect.stringMatching(/^must not be true/)],
    ]);
  });

  it('refuses a setting that cannot name service accounts', () => {
    expect(() => parseJobPolicy('Not_A_Name')).toThrow(/is not a service account name/);
    expect(parseJobPolicy(undefined)).toBe(defaultJobPolicy);
    expect(parseJobPolicy(' ')).toBe(defaultJobPolicy);
  });
});

describe('job policy in the schema (validate) and in the provider (run time)', () => {
  afterEach(() => {
    delete process.env.SWITCHYARD_JOB_SERVICE_ACCOUNTS;
  });

  it('validate refuses a privileged Job at its path, under the installation allow-list of the environment', () => {
    const privileged = job({ containers: [container({ securityContext: { privileged: true } })] });
    const parsed = jobConfigSchema.safeParse(privileged);
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      [
        `${pod}.containers.0.securityContext.privileged`,
        'must not be true: privileged containers are refused',
      ],
    ]);
    expect(jobConfigSchema.safeParse(job({ serviceAccountName: 'tests' })).success).toBe(false);
    process.env.SWITCHYARD_JOB_SERVICE_ACCOUNTS = 'default,tests';
    expect(jobConfigSchema.safeParse(job({ serviceAccountName: 'tests' })).success).toBe(true);
  });

  it('the provider creates nothing for a configuration the policy refuses, and says why', async () => {
    // Past the schema (a target stored without validate): no API call may be made.
    const kubeConfig = new KubeConfig();
    kubeConfig.makeApiClient = () => {
      throw new Error('no API call expected');
    };
    const ctx: MeasureContext = {
      namespace: 'shop',
      releaseId: 'rel-1',
      metric: 'suite',
      index: 0,
      run: 'pre',
      kubeConfig,
      googleToken: async () => 't',
      now: () => 0,
    };
    const config = job({ hostNetwork: true, volumes: [{ name: 'root', hostPath: { path: '/' } }] });
    const result = await jobProvider().measure(config as never, ctx);
    expect(result).toEqual({
      kind: 'verdict',
      phase: 'Failed',
      message:
        "job: no Job created, the installation's Job policy refuses it: spec.template.spec.hostNetwork: must not be true: a Job's pod does not share the node's network namespace; spec.template.spec.volumes[0].hostPath: hostPath volumes are refused: they expose the node's filesystem",
    });
    const badPolicy = jobProvider(() => parseJobPolicy('Bad!'));
    expect(await badPolicy.measure(job({}) as never, ctx)).toMatchObject({
      phase: 'Failed',
      message: expect.stringMatching(/^job: no Job created: SWITCHYARD_JOB_SERVICE_ACCOUNTS: "Bad!"/),
    });
  });
});
