// Targets a hostile operator might write (issue 11), through the real `switchyard validate` and
// `apply`: a Job that is privileged, mounts the node's filesystem or runs as another service
// account; NGINX snippets and canary-weight-total; a tag filter RE2 cannot run. Each is refused by
// name at its path, nothing of the file is stored, and a well-behaved target applies as usual.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { uniqueId } from '../support/stack.ts';
import { type Run, switchyard as run, stackEnv } from './cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-policy-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
// apply goes through the stack's control function (issue 11), so what is stored lands in the
// stack's project beside other files' targets: the names here carry this run's suffix.
const suffix = uniqueId('p').slice(-6);
const named = (name: string) => `${name}-${suffix}`;

/** The real CLI on the stack, signed as cli-test (an operator). */
function switchyard(...args: string[]): Promise<Run> {
  const env = stackEnv();
  delete env.KUBECONFIG;
  delete env.SWITCHYARD_JOB_SERVICE_ACCOUNTS;
  return run(args, env);
}

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited into hostile shapes.
type Loose = Record<string, any>;

/** A blue-green target whose pre-promotion analysis is a Job with pod spec `pod`. */
function jobTarget(name: string, pod: Loose): Loose {
  return {
    apiVersion: 'switchyard.dev/v1alpha1',
    kind: 'ReleaseTarget',
    metadata: { name: named(name) },
    spec: {
      image: { repository: `us-docker.pkg.dev/acme/apps/${name}` },
      cluster: { context: 'local' },
      namespace: 'shop',
      workload: name,
      strategy: {
        blueGreen: { activeService: name, prePromotionAnalysis: { templates: [{ templateName: 'suite' }] } },
      },
      analysis: {
        templates: [
          {
            name: 'suite',
            metrics: [
              {
                name: 'integration',
                provider: {
                  job: {
                    spec: {
                      template: {
                        spec: { containers: [{ name: 'newman', image: 'postman/newman:6' }], ...pod },
                      },
                    },
                  },
                },
              },
            ],
          },
        ],
      },
    },
  };
}

/** A canary target behind NGINX with extra canary Ingress annotations. */
function nginxTarget(name: string, annotations: Record<string, string>): Loose {
  return {
    apiVersion: 'switchyard.dev/v1alpha1',
    kind: 'ReleaseTarget',
    metadata: { name: named(name) },
    spec: {
      image: { repository: `us-docker.pkg.dev/acme/apps/${name}` },
      cluster: { context: 'local' },
      namespace: 'shop',
      workload: name,
      strategy: {
        canary: {
          stableService: name,
          canaryService: `${name}-canary`,
          steps: [{ setWeight: 10 }, { pause: {} }],
          trafficRouting: { nginx: { stableIngress: name, additionalIngressAnnotations: annotations } },
        },
      },
    },
  };
}

function yamlFile(name: string, ...docs: object[]): string {
  const path = join(dir, name);
  writeFileSync(path, docs.map((d) => stringify(d)).join('---\n'));
  return path;
}

const job = 'spec.analysis.templates[0].metrics[0].provider.job.spec.template.spec';
const nginx = 'nginx.ingress.kubernetes.io/';
const annotations = 'spec.strategy.canary.trafficRouting.nginx.additionalIngressAnnotations';

describe('hostile targets through validate and apply', () => {
  it('each attack is refused by name at its path, nothing is applied, and a well-behaved target applies', async () => {
    const slow = jobTarget('slow-filter', {});
    slow.spec.image.tagFilter = '^v(?=\\d)(\\d+\\.?)+$';
    const hostile = yamlFile(
      'hostile.yaml',
      jobTarget('privileged-job', {
        containers: [{ name: 'x', image: 'x', securityContext: { privileged: true } }],
      }),
      jobTarget('hostpath-job', { volumes: [{ name: 'node', hostPath: { path: '/' } }] }),
      jobTarget('other-sa-job', { serviceAccountName: 'switchyard-deployer' }),
      jobTarget('host-ns-job', { hostNetwork: true, hostPID: true }),
      nginxTarget('snippet', { [`${nginx}configuration-snippet`]: 'return 200 "owned";' }),
      nginxTarget('weight-total', { [`${nginx}canary-weight-total`]: '1000' }),
      slow,
    );
    const validate = await switchyard('validate', '-f', hostile, '-o', 'json');
    expect(validate.code, validate.stderr).toBe(2);
    const errors = (JSON.parse(validate.stdout) as { errors: { path: string; message: string }[] }).errors;
    expect(errors.map((e) => [e.path, e.message])).toEqual([
      [
        `documents[0].${job}.containers[0].securityContext.privileged`,
        'must not be true: privileged containers are refused',
      ],
      [
        `documents[1].${job}.volumes[0].hostPath`,
        "hostPath volumes are refused: they expose the node's filesystem",
      ],
      [
        `documents[2].${job}.serviceAccountName`,
        'service account "switchyard-deployer" is not one a Job may run as: the installation allows "default" (SWITCHYARD_JOB_SERVICE_ACCOUNTS)',
      ],
      [`documents[3].${job}.hostNetwork`, expect.stringMatching(/^must not be true/)],
      [`documents[3].${job}.hostPID`, expect.stringMatching(/^must not be true/)],
      [
        `documents[4].${annotations}["${nginx}configuration-snippet"]`,
        expect.stringMatching(/is a snippet annotation/),
      ],
      [
        `documents[5].${annotations}["${nginx}canary-weight-total"]`,
        expect.stringMatching(/is set by the router itself/),
      ],
      ['documents[6].spec.image.tagFilter', expect.stringMatching(/^lookarounds .* are not supported/)],
    ]);

    const apply = await switchyard('apply', '-f', hostile);
    expect(apply.code, apply.stderr).toBe(2);
    expect(apply.stderr).toContain('8 errors; nothing was applied');
    expect(apply.stderr).toMatch(
      /hostile\.yaml:\d+ documents\[0\]\..*securityContext\.privileged: must not be true/,
    );

    const good = yamlFile(
      'good.yaml',
      jobTarget('good-job', {
        serviceAccountName: 'default',
        containers: [
          {
            name: 'newman',
            image: 'postman/newman:6',
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      }),
      nginxTarget('good-nginx', {
        [`${nginx}canary-by-header-pattern`]: '^beta$',
        [`${nginx}proxy-body-size`]: '8m',
      }),
    );
    const applied = await switchyard('apply', '-f', good);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain(`releasetarget/${named('good-job')} created`);
    expect(applied.stdout).toContain(`releasetarget/${named('good-nginx')} created`);
    const listed = await switchyard('targets', '-o', 'json');
    const names = (
      JSON.parse(listed.stdout) as { targets: { target: { metadata: { name: string } } }[] }
    ).targets
      .map((t) => t.target.metadata.name)
      .filter((name) => name.endsWith(`-${suffix}`));
    expect(names).toEqual([named('good-job'), named('good-nginx')]);
  });
});
