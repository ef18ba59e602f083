// `switchyard validate`, `apply` and `targets`, run as the real CLI process against the Firestore
// emulator: exit codes scripts rely on, errors with file:line and path, all-or-nothing apply.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { testFirestore } from '../support/clients.ts';
import { stack, uniqueId } from '../support/stack.ts';

const repoRoot = join(import.meta.dirname, '..', '..');

// Each test file gets its own Firestore project: the emulator keeps projects apart.
const projectId = uniqueId('targets');
const dir = mkdtempSync(join(tmpdir(), 'switchyard-targets-'));
const db = testFirestore(projectId);
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db.terminate();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `switchyard <args>` with the project's Node and the stack's Firestore emulator. */
function switchyard(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'cli', 'main.ts'), ...args],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          GOOGLE_CLOUD_PROJECT: projectId,
          FIRESTORE_EMULATOR_HOST: stack().firestoreEmulatorHost,
        },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited into deliberately invalid shapes.
type Loose = Record<string, any>;

/** A valid target document named `name`; `patch` edits it. */
function target(name: string, patch: (d: Loose) => void = () => {}): Loose {
  const d: Loose = {
    apiVersion: 'switchyard.dev/v1alpha1',
    kind: 'ReleaseTarget',
    metadata: { name },
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

async function storedNames(): Promise<string[]> {
  const run = await switchyard('targets', '-o', 'json');
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { targets: { target: { metadata: { name: string } } }[] }).targets.map(
    (t) => t.target.metadata.name,
  );
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
    expect(run.code).toBe(2);
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
    expect(run.code).toBe(2);
    const out = JSON.parse(run.stdout);
    expect(out.valid).toBe(false);
    expect(out.errors).toContainEqual(
      expect.objectContaining({ path: 'documents[0].kind', message: 'must be "ReleaseTarget"', line: 1 }),
    );
  });

  it('treats a missing file as invalid input (exit code 2)', async () => {
    const run = await switchyard('validate', '-f', join(dir, 'missing.yaml'));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no such file');
  });
});

describe('switchyard apply and targets', () => {
  it('creates targets, reports an identical second apply as unchanged, and a changed spec as configured', async () => {
    const file = yamlFile('apply.yaml', target('alpha'), target('beta'));
    const first = await switchyard('apply', '-f', file);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('releasetarget/alpha created (generation 1)');
    expect(first.stdout).toContain('releasetarget/beta created (generation 1)');

    const second = await switchyard('apply', '-f', file, '-o', 'json');
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual([
      { name: 'alpha', result: 'unchanged', generation: 1 },
      { name: 'beta', result: 'unchanged', generation: 1 },
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
        { name: 'alpha', result: 'configured', generation: 2 },
        // Labels are metadata: the target is reconfigured but its spec generation stays.
        { name: 'beta', result: 'configured', generation: 1 },
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
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/documents\[1\]\.spec\.cluster\.gke: must be a GKE cluster name/);
    expect(run.stderr).toContain('nothing was applied');
    expect(await storedNames()).toEqual(before);
    expect(before).not.toContain('gamma');
  });

  it('lists the stored targets with -o json, and as a table', async () => {
    yamlFile(
      'listed.yaml',
      target('listed', (d) => (d.spec.cluster = { context: 'kind-dev' })),
    );
    expect((await switchyard('apply', '-f', join(dir, 'listed.yaml'))).code).toBe(0);

    const json = await switchyard('targets', '-o', 'json');
    expect(json.code, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.invalid).toEqual([]);
    const listed = out.targets.find(
      (t: { target: { metadata: { name: string } } }) => t.target.metadata.name === 'listed',
    );
    expect(listed).toMatchObject({
      generation: 1,
      appliedBy: expect.stringContaining('@'),
      appliedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      target: {
        spec: {
          image: { repository: 'us-docker.pkg.dev/acme/apps/listed', untagged: 'ignore' },
          cluster: { context: 'kind-dev' },
          strategy: { blueGreen: { activeService: 'listed', scaleDownDelaySeconds: 30 } },
        },
      },
    });

    const text = await switchyard('targets');
    expect(text.code).toBe(0);
    const [header, ...rows] = text.stdout.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual([
      'NAME',
      'REPOSITORY',
      'CLUSTER',
      'NAMESPACE',
      'WORKLOAD',
      'STRATEGY',
      'GENERATION',
    ]);
    expect(rows.find((r) => r.startsWith('listed '))?.split(/\s+/)).toEqual([
      'listed',
      'us-docker.pkg.dev/acme/apps/listed',
      'context:kind-dev',
      'shop',
      'listed',
      'blueGreen',
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
    const run = await switchyard('targets', '-o', 'json');
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
