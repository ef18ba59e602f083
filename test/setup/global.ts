// Starts one local stack for the whole test run and stops it at the end, leaving no process behind.
// A stack left over by a killed earlier run (its folder still exists) is brought down first.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { isAlive } from '../../infra/local/process.ts';
import { LocalStack, repoRoot, switchyardStack } from '../../infra/local/stack.ts';
import { testAccessPolicy } from '../support/access-policy.ts';
import { testOperators } from '../support/identity.ts';

const testStacks = join(repoRoot, '.switchyard', 'test-stacks');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // No Google metadata server here; keep the client libraries from probing for one.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const log = (m: string) => process.stderr.write(`[stack] ${m}\n`);
  if (existsSync(testStacks)) {
    for (const old of readdirSync(testStacks)) {
      // A stack whose test run is still alive belongs to a concurrent run: leave it alone.
      const owner = Number(
        readFileSync(join(testStacks, old, 'owner.pid'), { encoding: 'utf8', flag: 'a+' }) || 0,
      );
      if (owner && isAlive(owner)) continue;
      log(`cleaning up the stack of an earlier run: ${old}`);
      await new LocalStack({ stateDir: join(testStacks, old), log }).down();
      rmSync(join(testStacks, old), { recursive: true, force: true });
    }
  }
  const runId = `run-${Date.now().toString(36)}`;
  const stateDir = join(testStacks, runId);
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'owner.pid'), String(process.pid));
  // Timers as deployed, but a sweep every 5 s and short claims, so recovery tests take seconds.
  const functions = async () =>
    switchyardStack({
      sweepSeconds: 5,
      env: {
        SWITCHYARD_LEASE_SECONDS: '10',
        SWITCHYARD_SWEEP_LOOKAHEAD_SECONDS: '10',
        // A notifier that hangs is given up on after 3 attempts of 1 s, not 3 of 5 s.
        SWITCHYARD_NOTIFY_TIMEOUT_MS: '1000',
        // Crashes staged by the fault tests (test/releases/faults.test.ts).
        SWITCHYARD_FAULTS_FILE: join(stateDir, 'faults.json'),
        SWITCHYARD_OPERATORS: testOperators,
        SWITCHYARD_ACCESS_POLICY: JSON.stringify(testAccessPolicy),
      },
    });
  const stack = new LocalStack({ stateDir, projectId: `switchyard-${runId}`, log, functions });
  const teardown = async () => {
    await stack.down();
    // Keep the servers' and functions' logs of the last run for whoever has to explain a failure.
    const lastLogs = join(repoRoot, '.switchyard', 'test-logs');
    rmSync(lastLogs, { recursive: true, force: true });
    if (existsSync(join(stateDir, 'logs'))) cpSync(join(stateDir, 'logs'), lastLogs, { recursive: true });
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const status = await stack.up();
    if (
      !status.firestoreEmulatorHost ||
      !status.pubsubEmulatorHost ||
      !status.kubeconfig ||
      !status.prometheusUrl ||
      !status.issuerUrl
    ) {
      throw new Error(`the local stack is incomplete: ${JSON.stringify(status.parts)}`);
    }
    project.provide('stack', {
      projectId: status.projectId,
      stateDir,
      firestoreEmulatorHost: status.firestoreEmulatorHost,
      pubsubEmulatorHost: status.pubsubEmulatorHost,
      kubeconfig: status.kubeconfig,
      prometheusUrl: status.prometheusUrl,
      issuerUrl: status.issuerUrl,
    });
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
