// `switchyard validate` and `apply` refuse a target whose kubeconfig context the functions' kubeconfig
// lacks (its releases would stay Pending): checked against $KUBECONFIG, or the local stack's own.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { testFirestore } from '../support/clients.ts';
import { stackContext } from '../support/release.ts';
import { stack, uniqueId } from '../support/stack.ts';
import { bareEnv, stackEnv, switchyard } from './cli.ts';

const projectId = uniqueId('contexts');
const dir = mkdtempSync(join(tmpdir(), 'switchyard-contexts-'));
// apply goes through the stack's control function (issue 11): what it stores is in the stack's
// project, so the names applied carry this run's suffix.
const suffix = Date.now().toString(36).slice(-6);
const db = testFirestore(stack().projectId);
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db.terminate();
});

/** A file of one valid target named `name` on the kubeconfig context `context`. */
function targetFile(name: string, context: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'switchyard.dev/v1alpha1',
      kind: 'ReleaseTarget',
      metadata: { name },
      spec: {
        image: { repository: `us-docker.pkg.dev/acme/apps/${name}` },
        cluster: { context },
        namespace: 'shop',
        workload: name,
        strategy: { blueGreen: { activeService: name } },
      },
    }),
  );
  return path;
}

/** Each test runs the real CLI a few times on a shared two-core machine. */
const budget = { timeout: 300_000 };

describe('kubeconfig contexts', () => {
  it(
    'validate and apply refuse an unknown context with exit code 2, naming the contexts there are; nothing is stored',
    budget,
    async () => {
      const env = stackEnv();
      const file = targetFile(`typo-${suffix}`, `${stackContext()}-typo`);
      const expected = `${file}:9 documents[0].spec.cluster.context: no context "${stackContext()}-typo" in kubeconfig ${stack().kubeconfig} (contexts: "${stackContext()}"): name one of them, or a GKE cluster with gke: projects/P/locations/L/clusters/C`;
      const validate = await switchyard(['validate', '-f', file], env);
      expect(validate.code, validate.stderr).toBe(2);
      expect(validate.stderr).toContain(expected);
      const apply = await switchyard(['apply', '-f', file], env);
      expect(apply.code, apply.stderr).toBe(2);
      expect(apply.stderr).toContain(expected);
      expect(apply.stderr).toContain('1 error; nothing was applied');
      expect((await db.collection('targets').doc(`typo-${suffix}`).get()).exists).toBe(false);
    },
  );

  it('apply stores a target on a context the kubeconfig has', async () => {
    const name = `known-${suffix}`;
    const run = await switchyard(['apply', '-f', targetFile(name, stackContext())], stackEnv());
    expect(run, run.stderr).toMatchObject({
      code: 0,
      stdout: `releasetarget/${name} created (generation 1)\n`,
    });
  });

  it("on the local stack, the stack's kubeconfig is what counts, not $KUBECONFIG", budget, async () => {
    const env = { ...bareEnv(stack().stateDir), KUBECONFIG: join(dir, 'no-such-kubeconfig') };
    const good = await switchyard(['validate', '-f', targetFile('stacked', stackContext())], env);
    expect(good, good.stderr).toMatchObject({ code: 0, stderr: '' });
    const bad = await switchyard(['validate', '-f', targetFile('unstacked', 'kind-dev')], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`no context "kind-dev" in kubeconfig ${stack().kubeconfig}`);
  });

  it('without a kubeconfig, contexts are not checked (the functions may have one the CLI has not)', async () => {
    const env = {
      ...bareEnv(dir),
      GOOGLE_CLOUD_PROJECT: projectId,
      FIRESTORE_EMULATOR_HOST: stack().firestoreEmulatorHost,
    };
    const run = await switchyard(['validate', '-f', targetFile('elsewhere', 'kind-dev')], env);
    expect(run, run.stderr).toMatchObject({ code: 0 });
  });
});
