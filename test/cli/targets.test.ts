// `switchyard validate`, `apply`, `targets` and `templates`, run as the real CLI process against the
// Firestore emulator: exit codes scripts rely on, errors with file:line and path, all-or-nothing
// apply, named analysis templates stored with the targets that use them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { testFirestore } from '../support/clients.ts';
import { stack, uniqueId } from '../support/stack.ts';
import { bareEnv, type Run, switchyard as run, stackEnv } from './cli.ts';

// apply goes through the stack's control function (issue 11), so what is applied lands in the
// stack's own project, beside every other test file's documents: names here carry this run's
// suffix, and listings are read for these names only. What needs a Firestore of its own (a broken
// stored target, which would fail every listing beside it) uses a project of this file's own.
const suffix = Date.now().toString(36).slice(-6);
/** A target or template name of this file: `name` with this run's suffix. */
const n = (name: string) => `${name}-${suffix}`;
const projectId = uniqueId('targets');
const dir = mkdtempSync(join(tmpdir(), 'switchyard-targets-'));
const db = testFirestore(projectId);
const stackDb = testFirestore(stack().projectId);
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db.terminate();
  await stackDb.terminate();
});

/** Runs `switchyard <args>` on the stack (Firestore, Pub/Sub, its control function), signed as cli-test, an operator. */
function switchyard(...args: string[]): Promise<Run> {
  const env = stackEnv();
  // The targets here name made-up contexts: no kubeconfig of the caller's shell checks them.
  delete env.KUBECONFIG;
  return run(args, env);
}

/** Runs `switchyard <args>` with this file's own Firestore project and nothing else. */
function isolated(...args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GOOGLE_CLOUD_PROJECT: projectId,
    FIRESTORE_EMULATOR_HOST: stack().firestoreEmulatorHost,
  };
  delete env.KUBECONFIG;
  return run(args, env);
}

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited into deliberately invalid shapes.
type Loose = Record<string, any>;

/** A valid target document named `name`; `patch` edits it. */
function target(name: string, patch: (d: Loose) => void = () => {}): Loose {
  const d: Loose = {
    apiVersion: 'switchyard.dev/v1alpha1',
    kind: 'ReleaseTarget',
    metadata: { name: n(name) },
    spec: {
      image: { repository: `us-docker.pkg.dev/acme/apps/${name}` },
      cluster: { context: 'local' },
      namespace: 'shop',
      workload: name,
      strategy: { blueGreen: { activeService: name } },
    },
  };
  patch(d);
  return d;
}

/** Writes a YAML file of the documents and returns its path. */
function yamlFile(name: string, ...docs: object[]): string {
  const path = join(dir, name);
  writeFileSync(path, docs.map((d) => stringify(d)).join('---\n'));
  return path;
}

/** Ours: a name of this file's run. */
const ours = (name: string) => name.endsWith(`-${suffix}`);

/**
 * `switchyard targets <args>` on the stack's project. Other test files tamper with their own
 * stored targets there (for a while, one may not validate, and the listing then exits 1 naming it):
 * the run must be clean as far as this file's targets go.
 */
async function listTargets(...args: string[]): Promise<Run> {
  const run = await switchyard('targets', ...args);
  const others = [...run.stderr.matchAll(/stored target "([^"]+)" is invalid/g)].map((m) => m[1]!);
  expect(others.filter(ours), run.stderr).toEqual([]);
  expect(run.code, run.stderr).toBe(others.length > 0 ? 1 : 0);
  return run;
}

/** The names of this file's stored targets (others' are left out). */
async function storedNames(): Promise<string[]> {
  const run = await listTargets('-o', 'json');
  return (JSON.parse(run.stdout) as { targets: { target: { metadata: { name: string } } }[] }).targets
    .map((t) => t.target.metadata.name)
    .filter(ours);
}

describe('switchyard validate', () => {
  it('says how many targets a good file holds, exit code 0', async () => {
    const run = await switchyard('validate', '-f', yamlFile('good.yaml', target('api'), target('web')));
    expect(run).toMatchObject({ code: 0, stdout: expect.stringContaining('2 targets valid') });
  });

  it('lists every error as file:line path: message, exit code 2', async () => {
    const file = yamlFile(
      'bad.yaml',
      target('api', (d) => {
        d.spec.namespace = 'Shop';
        delete d.spec.strategy.blueGreen.activeService;
      }),
      target('web', (d) => (d.spec.image.tagFilter = '(')),
    );
    const run = await switchyard('validate', '-f', file);
    expect(run.code, run.stderr).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(`^${file}:\\d+ documents\\[0\\]\\.spec\\.namespace: must be a DNS-1123 label`),
      ),
      expect.stringMatching(
        new RegExp(`^${file}:\\d+ documents\\[0\\]\\.spec\\.strategy\\.blueGreen\\.activeService: required$`),
      ),
      expect.stringMatching(
        new RegExp(`^${file}:\\d+ documents\\[1\\]\\.spec\\.image\\.tagFilter: invalid regular expression`),
      ),
      `${file}: 3 errors`,
    ]);
  });

  it('gives the errors as data with -o json', async () => {
    const run = await switchyard('validate', '-f', yamlFile('bad-json.yaml', { kind: 'Nope' }), '-o', 'json');
    expect(run.code, run.stderr).toBe(2);
    const out = JSON.parse(run.stdout);
    expect(out.valid).toBe(false);
    expect(out.errors).toContainEqual(
      expect.objectContaining({
        path: 'documents[0].kind',
        message: 'unknown kind "Nope": must be one of ReleaseTarget, AnalysisTemplate',
        line: 1,
      }),
    );
  });

  it('treats a missing file as invalid input (exit code 2)', async () => {
    const run = await switchyard('validate', '-f', join(dir, 'missing.yaml'));
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain('no such file');
  });
});

describe('switchyard apply and targets', () => {
  it('creates targets, reports an identical second apply as unchanged, and a changed spec as configured', async () => {
    const file = yamlFile('apply.yaml', target('alpha'), target('beta'));
    const first = await switchyard('apply', '-f', file);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`releasetarget/${n('alpha')} created (generation 1)`);
    expect(first.stdout).toContain(`releasetarget/${n('beta')} created (generation 1)`);

    const second = await switchyard('apply', '-f', file, '-o', 'json');
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual([
      { kind: 'ReleaseTarget', name: n('alpha'), result: 'unchanged', generation: 1 },
      { kind: 'ReleaseTarget', name: n('beta'), result: 'unchanged', generation: 1 },
    ]);

    const changed = yamlFile(
      'apply-changed.yaml',
      target('alpha', (d) => (d.spec.strategy.blueGreen.scaleDownDelaySeconds = 60)),
      target('beta', (d) => (d.metadata.labels = { team: 'web' })),
    );
    const third = await switchyard('apply', '-f', changed, '-o', 'yaml');
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toBe(
      stringify([
        { kind: 'ReleaseTarget', name: n('alpha'), result: 'configured', generation: 2 },
        // Labels are metadata: the target is reconfigured but its spec generation stays.
        { kind: 'ReleaseTarget', name: n('beta'), result: 'configured', generation: 1 },
      ]),
    );
  });

  it('stores nothing from a file with any error, exit code 2', async () => {
    const before = await storedNames();
    const file = yamlFile(
      'half-bad.yaml',
      target('gamma'),
      target('delta', (d) => (d.spec.cluster = { gke: 'not-a-cluster' })),
    );
    const run = await switchyard('apply', '-f', file);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/documents\[1\]\.spec\.cluster\.gke: must be a GKE cluster name/);
    expect(run.stderr).toContain('nothing was applied');
    expect(await storedNames()).toEqual(before);
    expect(before).not.toContain(n('gamma'));
  });

  it('lists the stored targets with -o json, and as a table', async () => {
    yamlFile(
      'listed.yaml',
      target('listed', (d) => (d.spec.cluster = { context: 'kind-dev' })),
    );
    expect((await switchyard('apply', '-f', join(dir, 'listed.yaml'))).code).toBe(0);

    const json = await listTargets('-o', 'json');
    const out = JSON.parse(json.stdout);
    const listed = out.targets.find(
      (t: { target: { metadata: { name: string } } }) => t.target.metadata.name === n('listed'),
    );
    expect(listed).toMatchObject({
      generation: 1,
      // The verified identity of who applied (the CLI signs as $SWITCHYARD_USER on the stack).
      appliedBy: 'cli-test',
      appliedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      target: {
        spec: {
          image: { repository: 'us-docker.pkg.dev/acme/apps/listed', untagged: 'ignore' },
          cluster: { context: 'kind-dev' },
          strategy: { blueGreen: { activeService: 'listed', scaleDownDelaySeconds: 30 } },
        },
      },
    });

    const text = await listTargets();
    const [header, ...rows] = text.stdout.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual([
      'NAME',
      'REPOSITORY',
      'CLUSTER',
      'NAMESPACE',
      'WORKLOAD',
      'STRATEGY',
      'DEPENDS-ON',
      'GENERATION',
    ]);
    expect(rows.find((r) => r.startsWith(`${n('listed')} `))?.split(/\s+/)).toEqual([
      n('listed'),
      'us-docker.pkg.dev/acme/apps/listed',
      'context:kind-dev',
      'shop',
      'listed',
      'blueGreen',
      '-',
      '1',
    ]);
  });

  it('reports a stored target that no longer validates instead of using it (exit code 1)', async () => {
    // As if written by an older version or edited by hand in the console.
    await db
      .collection('targets')
      .doc('broken')
      .set({
        apiVersion: 'switchyard.dev/v1alpha1',
        metadata: { name: 'broken' },
        spec: { image: { repository: 'us-docker.pkg.dev/acme/apps/broken' }, namespace: 'shop' },
        generation: 1,
        appliedAt: new Date(),
        appliedBy: 'someone',
      });
    // In a project of this file's own: a broken target would fail every listing of the stack's.
    const run = await isolated('targets', '-o', 'json');
    expect(run.code).toBe(1);
    const out = JSON.parse(run.stdout);
    expect(
      out.targets.map((t: { target: { metadata: { name: string } } }) => t.target.metadata.name),
    ).not.toContain('broken');
    expect(out.invalid).toEqual([
      {
        name: 'broken',
        errors: expect.arrayContaining([
          expect.objectContaining({ path: 'spec.workload', message: 'required' }),
        ]),
      },
    ]);
    expect(run.stderr).toContain('stored target "broken" is invalid');
    await db.collection('targets').doc('broken').delete();
  });
});

describe('release trains: spec.dependsOn', () => {
  const dependsOn =
    (...names: string[]) =>
    (d: Loose) =>
      (d.spec.dependsOn = names.map(n));

  it('stores a target that depends on a stored one, and the listing shows what it depends on', async () => {
    const backend = await switchyard('apply', '-f', yamlFile('backend.yaml', target('backend')));
    expect(backend.code, backend.stderr).toBe(0);
    const bff = await switchyard('apply', '-f', yamlFile('bff.yaml', target('bff', dependsOn('backend'))));
    expect(bff.code, bff.stderr).toBe(0);
    const rows = (await listTargets()).stdout.trim().split('\n');
    expect(
      rows
        .find((r) => r.startsWith(`${n('bff')} `))
        ?.split(/\s+/)
        .at(-2),
    ).toBe(n('backend'));
    const json = JSON.parse((await listTargets('-o', 'json')).stdout);
    const stored = json.targets.find((t: Loose) => t.target.metadata.name === n('bff'));
    expect(stored.target.spec.dependsOn).toEqual([n('backend')]);
  });

  it('refuses a dependency on no target, naming it, and stores nothing (exit code 2)', async () => {
    const before = await storedNames();
    const run = await switchyard(
      'apply',
      '-f',
      yamlFile('orphan.yaml', target('orphan', dependsOn('nowhere'))),
    );
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`spec.dependsOn[0]: no target "${n('nowhere')}" to depend on`);
    expect(run.stderr).toContain('nothing was applied');
    expect(await storedNames()).toEqual(before);
  });

  it('refuses a cycle across the stored targets and the file, naming the cycle', async () => {
    const base = await switchyard('apply', '-f', yamlFile('ring-a.yaml', target('ring-a')));
    expect(base.code, base.stderr).toBe(0);
    const b = await switchyard('apply', '-f', yamlFile('ring-b.yaml', target('ring-b', dependsOn('ring-a'))));
    expect(b.code, b.stderr).toBe(0);
    const closing = yamlFile('ring-a2.yaml', target('ring-a', dependsOn('ring-b')));
    const run = await switchyard('apply', '-f', closing);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(
      `dependsOn makes a cycle: ${n('ring-a')} -> ${n('ring-b')} -> ${n('ring-a')}`,
    );
    const json = JSON.parse((await listTargets('-o', 'json')).stdout);
    const a = json.targets.find((t: Loose) => t.target.metadata.name === n('ring-a'));
    expect(a.target.spec.dependsOn).toBeUndefined();
  });

  it('refuses a cycle within one file, and a target that depends on itself', async () => {
    const before = await storedNames();
    const pair = yamlFile(
      'pair.yaml',
      target('pair-x', dependsOn('pair-y')),
      target('pair-y', dependsOn('pair-x')),
    );
    const run = await switchyard('apply', '-f', pair);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(
      `dependsOn makes a cycle: ${n('pair-x')} -> ${n('pair-y')} -> ${n('pair-x')}`,
    );
    const self = await switchyard('apply', '-f', yamlFile('self.yaml', target('self', dependsOn('self'))));
    expect(self.code, self.stderr).toBe(2);
    expect(self.stderr).toContain(`dependsOn makes a cycle: ${n('self')} -> ${n('self')}`);
    expect(await storedNames()).toEqual(before);
  });
});

/** A named analysis template document (kind AnalysisTemplate) named `name`; `patch` edits it. */
function analysisTemplate(name: string, patch: (d: Loose) => void = () => {}): Loose {
  const d: Loose = {
    apiVersion: 'switchyard.dev/v1alpha1',
    kind: 'AnalysisTemplate',
    metadata: { name: n(name) },
    spec: {
      args: [{ name: 'service' }],
      metrics: [
        {
          name: 'errors',
          interval: '30s',
          count: 3,
          successCondition: 'result[0] < 0.05',
          provider: {
            prometheus: { address: 'http://prometheus:9090', query: 'errors{service="{{args.service}}"}' },
          },
        },
      ],
    },
  };
  patch(d);
  return d;
}

/** `patch` for target(): pre- and post-promotion analysis with the template `templateName`. */
const analysedWith = (templateName: string) => (d: Loose) => {
  const ref = {
    templates: [{ templateName: n(templateName) }],
    args: [{ name: 'service', value: d.metadata.name }],
  };
  d.spec.strategy.blueGreen.prePromotionAnalysis = ref;
  d.spec.strategy.blueGreen.postPromotionAnalysis = ref;
};

describe('named analysis templates', () => {
  it('applies a template and a target using it in one go, both stored', async () => {
    const file = yamlFile(
      'named.yaml',
      analysisTemplate('error-rate'),
      target('orders', analysedWith('error-rate')),
    );
    const run = await switchyard('apply', '-f', file);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual([
      `analysistemplate/${n('error-rate')} created (generation 1)`,
      `releasetarget/${n('orders')} created (generation 1)`,
    ]);

    const stored = await stackDb.collection('analysisTemplates').doc(n('error-rate')).get();
    expect(stored.data()).toMatchObject({
      apiVersion: 'switchyard.dev/v1alpha1',
      generation: 1,
      appliedBy: 'cli-test',
      spec: {
        args: [{ name: 'service' }],
        metrics: [{ name: 'errors', interval: 30, count: 3, provider: { kind: 'prometheus' } }],
      },
    });
    expect(await storedNames()).toContain(n('orders'));

    // Applying the same file again changes nothing; a changed template is configured.
    const again = await switchyard('apply', '-f', file, '-o', 'json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual([
      { kind: 'AnalysisTemplate', name: n('error-rate'), result: 'unchanged', generation: 1 },
      { kind: 'ReleaseTarget', name: n('orders'), result: 'unchanged', generation: 1 },
    ]);
    const changed = yamlFile(
      'named-changed.yaml',
      analysisTemplate('error-rate', (d) => (d.spec.metrics[0].count = 5)),
    );
    const third = await switchyard('apply', '-f', changed, '-o', 'json');
    expect(third.code, third.stderr).toBe(0);
    expect(JSON.parse(third.stdout)).toEqual([
      { kind: 'AnalysisTemplate', name: n('error-rate'), result: 'configured', generation: 2 },
    ]);
  });

  it('accepts a later file whose target references the stored template (validate and apply)', async () => {
    expect(
      (await switchyard('apply', '-f', yamlFile('tpl-only.yaml', analysisTemplate('latency')))).code,
    ).toBe(0);
    const file = yamlFile('uses-stored.yaml', target('payments', analysedWith('latency')));
    const validated = await switchyard('validate', '-f', file);
    expect(validated).toMatchObject({ code: 0, stdout: expect.stringContaining('1 target valid') });
    const run = await switchyard('apply', '-f', file);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(`releasetarget/${n('payments')} created (generation 1)`);
  });

  it('refuses a target referencing a missing template (exit code 2) and stores nothing of the file', async () => {
    const before = await storedNames();
    const file = yamlFile(
      'uses-missing.yaml',
      analysisTemplate('fresh'),
      target('shipping', analysedWith('fresh')),
      target('billing', analysedWith('no-such-template')),
    );
    const run = await switchyard('apply', '-f', file);
    expect(run.code, run.stderr).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${file}:\\d+ documents\\[2\\]\\.spec\\.strategy\\.blueGreen\\.prePromotionAnalysis\\.templates\\[0\\]\\.templateName: no analysis template "no-such-template-${suffix}": .*nor stored`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `postPromotionAnalysis\\.templates\\[0\\]\\.templateName: no analysis template "no-such-template-${suffix}"`,
        ),
      ),
      `${file}: 2 errors; nothing was applied`,
    ]);
    expect(await storedNames()).toEqual(before);
    expect((await stackDb.collection('analysisTemplates').doc(n('fresh')).get()).exists).toBe(false);

    // validate says the same, with the stored templates read from the emulator.
    const validated = await switchyard('validate', '-f', file, '-o', 'json');
    expect(validated.code).toBe(2);
    expect(JSON.parse(validated.stdout).errors).toEqual([
      expect.objectContaining({ document: 2, message: expect.stringContaining('nor stored') }),
      expect.objectContaining({ document: 2, message: expect.stringContaining('nor stored') }),
    ]);
  });

  it('validate without any Firestore configured reports the reference, saying stored templates were not checked', async () => {
    const file = yamlFile('offline.yaml', target('offline', analysedWith('latency')));
    // No Firestore at all: no project, no emulator, and no local dev stack for the CLI to fall back to.
    const offline = await run(['validate', '-f', file], bareEnv(join(dir, 'no-stack')));
    expect(offline.code, offline.stderr).toBe(2);
    expect(offline.stderr).toContain(
      `no analysis template "${n('latency')}" in spec.analysis.templates (not in this file; apply checks stored templates)`,
    );
  });

  it('lists the stored templates with -o json, and as a table', async () => {
    expect(
      (await switchyard('apply', '-f', yamlFile('listed-tpl.yaml', analysisTemplate('listed-tpl')))).code,
    ).toBe(0);
    const json = await switchyard('templates', '-o', 'json');
    expect(json.code, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.invalid).toEqual([]);
    expect(
      out.templates.find((t: { template: { name: string } }) => t.template.name === n('listed-tpl')),
    ).toEqual({
      template: {
        name: n('listed-tpl'),
        args: [{ name: 'service' }],
        metrics: [
          expect.objectContaining({
            name: 'errors',
            interval: 30,
            provider: {
              kind: 'prometheus',
              config: {
                address: 'http://prometheus:9090',
                query: 'errors{service="{{args.service}}"}',
                timeoutSeconds: 10,
              },
            },
          }),
        ],
      },
      generation: 1,
      appliedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      appliedBy: 'cli-test',
    });

    const text = await switchyard('templates');
    expect(text.code).toBe(0);
    const [header, ...rows] = text.stdout.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'ARGS', 'METRICS', 'PROVIDERS', 'GENERATION', 'APPLIED']);
    expect(
      rows
        .find((r) => r.startsWith(`${n('listed-tpl')} `))
        ?.split(/\s+/)
        .slice(0, 5),
    ).toEqual([n('listed-tpl'), 'service', 'errors', 'prometheus', '1']);
  });

  it('reads back a stored target with inline templates as valid (the parsed provider shape round-trips)', async () => {
    const file = yamlFile(
      'inline.yaml',
      target('inline', (d) => {
        d.spec.analysis = { templates: [{ ...analysisTemplate('x').spec, name: n('own') }] };
        analysedWith('own')(d);
      }),
    );
    const applied = await switchyard('apply', '-f', file);
    expect(applied.code, applied.stderr).toBe(0);
    const run = await listTargets('-o', 'json');
    expect(
      JSON.parse(run.stdout).targets.map(
        (t: { target: { metadata: { name: string } } }) => t.target.metadata.name,
      ),
    ).toContain(n('inline'));
  });
});

describe('--help', () => {
  const commands = [
    'apply',
    'validate',
    'targets',
    'templates',
    'get',
    'list',
    'history',
    'watch',
    'push',
    'promote',
    'abort',
    'retry',
    'restart',
    'undo',
    'pause',
    'resume',
    'dev',
    'dev up',
    'dev down',
    'dev status',
    'demo',
  ];

  it('of the CLI and of every command shows examples and the exit codes, exit code 0', async () => {
    const runs: [string, Run][] = [];
    // A few at a time: each is a Node process on a shared machine.
    const all = ['', ...commands];
    for (let i = 0; i < all.length; i += 4) {
      const batch = all.slice(i, i + 4);
      runs.push(
        ...(await Promise.all(
          batch.map(
            async (c): Promise<[string, Run]> => [
              c,
              await switchyard(...c.split(' ').filter(Boolean), '--help'),
            ],
          ),
        )),
      );
    }
    for (const [command, help] of runs) {
      expect({ command, code: help.code }).toEqual({ command, code: 0 });
      expect(help.stdout, command).toContain(`Usage: switchyard ${command}`.trimEnd());
      expect(help.stdout, command).toMatch(/\nExamples?:\n/);
      expect(help.stdout, command).toMatch(/\nExit codes:\n {2}0 /);
    }
  }, 240_000); // 22 CLI processes on a shared two-core machine

  it('a usage error exits 2 and points at --help', async () => {
    const missing = await switchyard('get');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'name'");
    expect(missing.stderr).toContain('--help');
    const badFormat = await switchyard('targets', '-o', 'xml');
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('unknown output format "xml": use json, yaml or text');
  });
});

describe('where the CLI finds Firestore', () => {
  it('uses the local dev stack when no project is named', async () => {
    const listed = await run(['list', '-o', 'json'], bareEnv(stack().stateDir));
    expect(listed.code, listed.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(listed.stdout))).toBe(true);
  });

  it('says to start the local stack or pass --project when there is neither (exit code 1)', async () => {
    const none = await run(['targets'], bareEnv(join(dir, 'no-stack')));
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(
      'switchyard targets: no Google Cloud project: run `switchyard dev up` to use the local stack',
    );
    expect(none.stderr).toContain('or pass --project <id> for Google Cloud');
  });

  it('says the local stack is not running when its emulator does not answer, at once', async () => {
    const stale = join(dir, 'stale-stack');
    mkdirSync(stale, { recursive: true });
    // As left by a stack whose processes died: nothing listens on port 1.
    writeFileSync(
      join(stale, 'stack.json'),
      JSON.stringify({
        projectId: 'gone',
        parts: { firestore: { host: '127.0.0.1:1' }, pubsub: { host: '127.0.0.1:1' } },
      }),
    );
    const run1 = await run(['get', 'api'], bareEnv(stale));
    expect(run1.code).toBe(1);
    expect(run1.stderr).toContain(
      `switchyard get: the local stack in ${stale} is not running (its Firestore emulator at 127.0.0.1:1 does not answer): run \`switchyard dev up\``,
    );
  });

  it('with --project goes to Google Cloud, never to the local stack that is running', async () => {
    const remote = await run(['--project', 'cli-no-such-project', 'list'], bareEnv(stack().stateDir));
    expect(remote.code).toBe(1);
    expect(remote.stderr).toContain('project cli-no-such-project');
    expect(remote.stderr).not.toContain('emulator');
  });
});
