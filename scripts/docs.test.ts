// The README stays true: its generated references are what the sources generate now, every field of
// the ReleaseTarget reference is described, and every command in it is run by a test. So does
// infra/DEPLOY.md's least-privilege tables: generated from the Terraform and the Role's rules, with
// a reason for every IAM grant.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { grants, loadModules } from '../infra/terraform/model.ts';
import {
  type DeploySectionName,
  deployFile,
  deploySections,
  fallbackDescriptions,
  iamTable,
  iamWhy,
  iamWhyProblems,
  readmeFile,
  referencePaths,
  type SectionName,
  section,
  sections,
} from './docs.ts';
import {
  commandsToRun,
  coveredElsewhere,
  readmeCommands,
  redirected,
  stripComment,
} from './readme-commands.ts';

const root = join(import.meta.dirname, '..');
const readme = readFileSync(readmeFile, 'utf8');

describe('README.md generated references', () => {
  it.each(Object.keys(sections) as SectionName[])('the %s reference is current', (name) => {
    expect(
      section(readme, name),
      `README.md's ${name} reference differs from what its sources generate: run \`npm run docs\``,
    ).toBe(sections[name]());
  });

  it('describes every field: from the schema, or a fallback for a field whose schema has no description yet', () => {
    const paths = referencePaths();
    const undescribed = [...paths].filter(([p, own]) => !own && !(p in fallbackDescriptions)).map(([p]) => p);
    expect(undescribed, 'add a .describe() to these fields in the zod schema').toEqual([]);
    const stale = Object.keys(fallbackDescriptions).filter((p) => !paths.has(p));
    expect(stale, 'these fallback descriptions name fields that no longer exist: remove them').toEqual([]);
    const shadowed = Object.keys(fallbackDescriptions).filter((p) => paths.get(p));
    expect(shadowed, 'the schema describes these fields now: remove their fallback descriptions').toEqual([]);
  });
});

describe('infra/DEPLOY.md generated least-privilege tables', () => {
  const deploy = readFileSync(deployFile, 'utf8');

  it.each(Object.keys(deploySections) as DeploySectionName[])('the %s table is current', async (name) => {
    expect(
      section(deploy, name),
      `infra/DEPLOY.md's ${name} table differs from what its sources generate: run \`npm run docs\``,
    ).toBe(await deploySections[name]());
  });

  it('has a reason for every IAM grant of the Terraform module, and none for a grant that is gone', async () => {
    const { sy } = await loadModules();
    const all = grants(sy);
    const { undocumented, stale } = iamWhyProblems(all);
    expect(undocumented, 'add a reason for these grants to iamWhy in scripts/docs.ts').toEqual([]);
    expect(stale, 'these iamWhy entries name grants that no longer exist: remove them').toEqual([]);
    // The table refuses to be generated otherwise.
    const added = { ...all[0]!, address: 'google_pubsub_topic_iam_member.new_grant' };
    expect(() => iamTable(sy, [...all, added])).toThrow(/without a reason.*new_grant/);
    expect(() => iamTable(sy, all, { ...iamWhy, 'google_project_iam_member.gone': 'x' })).toThrow(
      /do not exist: google_project_iam_member\.gone/,
    );
  });

  it('lists every grant: each role and identity of the module is in the IAM table', async () => {
    const { sy } = await loadModules();
    const table = await deploySections.iam();
    for (const g of grants(sy)) expect(table, g.address).toContain(`\`${g.role}\``);
    expect(table).toContain('every function');
    expect(table).toContain('Pub/Sub service agent');
    expect(table).toContain('`operators` (variable)');
  });

  it('gives every Kubernetes rule of shared/rbac.ts its use', async () => {
    const { switchyardRules } = await import('../shared/rbac.ts');
    for (const r of switchyardRules) expect(r.why.trim(), r.resources.join()).not.toBe('');
    expect(deploySections['kubernetes-rbac']().split('\n')).toHaveLength(switchyardRules.length + 2);
  });
});

describe('README.md commands', () => {
  const commands = readmeCommands(readme);

  it('finds the commands of the sh blocks, comments stripped, in order', () => {
    expect(stripComment('switchyard get api   # the tree')).toBe('switchyard get api');
    expect(stripComment('switchyard promote api --reason "a # b"')).toBe(
      'switchyard promote api --reason "a # b"',
    );
    expect(readmeCommands('x\n```sh\na \\\n  b # c\n\n```\n```text\nnot me\n```\n')).toEqual([
      { line: 3, command: 'a b' },
    ]);
    expect(commands.length).toBeGreaterThan(10);
  });

  it('the quick start is exactly two commands: npm run demo, npm test', () => {
    expect(commands.slice(0, 2).map((c) => c.command)).toEqual(['npm run demo', 'npm test']);
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## How it works'));
    expect(readmeCommands(quickStart).map((c) => c.command)).toEqual(['npm run demo', 'npm test']);
  });

  it('every command is run by a test', () => {
    for (const [command, cover] of Object.entries(coveredElsewhere)) {
      expect(
        commands.map((c) => c.command),
        `${command} is allow-listed but not in the README`,
      ).toContain(command);
      expect(existsSync(join(root, cover.by)), `${cover.by} covers ${command}`).toBe(true);
    }
    // The walk-through test runs everything else, in README order.
    expect(readFileSync(join(root, 'test', 'demo.test.ts'), 'utf8')).toMatch(/'demo', '--stack-dir'/);
    expect(readFileSync(join(root, '.ci', 'run'), 'utf8')).toMatch(/^npm test$/m);
    const walkThrough = readFileSync(join(root, 'test', 'cli', 'readme.test.ts'), 'utf8');
    expect(walkThrough).toContain('commandsToRun(');
    const run = commandsToRun(readme).map((c) => c.command);
    expect(run.length + Object.keys(coveredElsewhere).length).toBe(commands.length);
    for (const command of Object.keys(redirected)) expect(run).toContain(command);
  });

  it('every command is one a new user can type: the CLI, kubectl, or shell set-up', () => {
    const unknown = commandsToRun(readme).filter(
      (c) => !/^(switchyard |kubectl |export PATH=|eval "\$\(switchyard )/.test(c.command),
    );
    expect(unknown).toEqual([]);
  });
});
