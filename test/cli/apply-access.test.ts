// `switchyard apply` as people run it since issue 11: the real CLI signs the file's documents with
// the caller's ID token and the stack's control function stores them, or refuses, naming the
// document, who and why: exit code 3, nothing stored. Signed as $SWITCHYARD_USER on the stack.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { TargetStore } from '../../shared/target/store.ts';
import { testFirestore } from '../support/clients.ts';
import { stack, uniqueId } from '../support/stack.ts';
import { stackEnv, switchyard } from './cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-apply-access-'));
const db = testFirestore(stack().projectId);
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db.terminate();
});

const alice = 'alice@team-a.example';

/** A file of one target `name` that only alice may apply again; `deadline` changes its spec. */
function file(name: string, deadline: number): string {
  const path = join(dir, `${name}-${deadline}.yaml`);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'switchyard.dev/v1alpha1',
      kind: 'ReleaseTarget',
      metadata: { name },
      spec: {
        image: { repository: `us-docker.pkg.dev/acme/${name}/api` },
        cluster: { context: 'made-up' },
        namespace: 'shop',
        workload: 'api',
        progressDeadlineSeconds: deadline,
        strategy: { blueGreen: { activeService: 'api' } },
        access: [{ members: [alice], commands: ['apply', 'promote'] }],
      },
    }),
  );
  return path;
}

/** The CLI on the stack as `user` (cli-test is an operator), no kubeconfig to check contexts against. */
function as(user: string, ...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...stackEnv(), SWITCHYARD_USER: user };
  delete env.KUBECONFIG;
  return switchyard(args, env);
}

describe('switchyard apply, authorized by the control function', () => {
  it("refuses with exit code 3 a change to a target whose stored access leaves the caller out; stores its owner's", async () => {
    const name = uniqueId('cli-acc').slice(0, 40);
    const created = await as('cli-test', 'apply', '-f', file(name, 120));
    expect(created, created.stderr).toMatchObject({
      code: 0,
      stdout: `releasetarget/${name} created (generation 1)\n`,
    });

    const changed = file(name, 300);
    const refused = await as('cli-test', 'apply', '-f', changed);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain(
      `${changed}: refused: documents[0]: apply: cli-test may not apply target ${name}: no rule of spec.access grants them apply; nothing was applied`,
    );
    const json = await as('mallory@team-b.example', 'apply', '-f', changed, '-o', 'json');
    expect(json.code, json.stderr).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({
      outcome: 'refused',
      command: 'apply',
      requestedBy: 'mallory@team-b.example',
      errors: [
        { document: 0, path: 'documents[0]', message: expect.stringContaining('may not apply target') },
      ],
    });
    expect(await new TargetStore(db).get(name)).toMatchObject({ generation: 1, appliedBy: 'cli-test' });

    const owner = await as(alice, 'apply', '-f', changed);
    expect(owner, owner.stderr).toMatchObject({
      code: 0,
      stdout: `releasetarget/${name} configured (generation 2)\n`,
    });
    expect(await new TargetStore(db).get(name)).toMatchObject({ generation: 2, appliedBy: alice });
    await db.collection('targets').doc(name).delete();
  });
});
