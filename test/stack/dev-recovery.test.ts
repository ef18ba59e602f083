// `dev up` repairs parts from what it recorded, on a stack of its own (the Pub/Sub emulator, a
// Kubernetes cluster, the functions under the registry's real topology), so killing its parts
// disturbs no other test: an emulator that restarted empty gets its whole topology back, a dead API
// server is restarted on its etcd data (objects made before are still there), and functions follow a
// control plane that moved to another port.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionsConfig, FunctionsState } from '../../infra/local/components/functions.ts';
import type { KubeState } from '../../infra/local/components/kubernetes.ts';
import { isAlive, waitFor } from '../../infra/local/process.ts';
import { LocalStack, repoRoot } from '../../infra/local/stack.ts';
import { switchyardFunctions } from '../../infra/local/switchyard.ts';
import { topology } from '../../shared/topology.ts';
import { type KubeClients, kubeClients, waitForDeploymentAvailable } from '../support/kube.ts';
import { plainDeployment, service } from '../support/kube-fixtures.ts';
import { type Receiver, startReceiver } from '../support/receiver.ts';

interface StackFile {
  parts: { pubsub: { pid: number; host: string }; kubernetes: KubeState; functions: FunctionsState };
}

interface Report {
  name: string;
  pid: number;
  apiServer: string | null;
  data: { nonce: string };
}

const projectId = 'dev-recovery';

describe('dev up repairs parts from their recorded state', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-recovery-'));
  const fixture = join(import.meta.dirname, 'fixtures', 'every-function.ts');
  // The registry's functions, topics, subscriptions and dead-letter policies, with light stand-ins.
  const registry = async (): Promise<FunctionsConfig> => ({
    functions: switchyardFunctions().map((f) => ({ ...f, source: fixture })),
    sweepTopic: topology().sweepTopic,
    sweepSeconds: 600,
  });
  const recovery = new LocalStack({
    stateDir: dir,
    projectId,
    only: ['pubsub', 'kubernetes', 'functions'],
    functions: registry,
    log: (m) => process.stderr.write(`[recovery stack] ${m}\n`),
  });
  const recorded = () => JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as StackFile;
  const emulator = () => `http://${recorded().parts.pubsub.host}/v1/projects/${projectId}`;
  const functionPids = () => recorded().parts.functions.functions.map((f) => f.pid);
  const componentPid = (name: string) => {
    const k = recorded().parts.kubernetes;
    return Number(readFileSync(join(k.workdir, 'clusters', k.clusterName, 'pids', `${name}.pid`), 'utf8'));
  };
  let receiver: Receiver;
  let kube: KubeClients;
  let namespace: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    await recovery.up();
    kube = kubeClients(recorded().parts.kubernetes.kubeconfig);
  }, 300_000);

  afterAll(async () => {
    await recovery.down();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Every topic and push subscription of the registry is on the emulator, each pushing to its
   * function's process with the registry's dead-letter policy (read back through the REST API).
   */
  async function expectWholeTopology(): Promise<void> {
    const hosts = new Map(recorded().parts.functions.functions.map((f) => [f.name, f.host]));
    for (const fn of topology().functions) {
      const topic = await fetch(`${emulator()}/topics/${fn.deadLetterTopic}`);
      expect(topic.status, `dead-letter topic ${fn.deadLetterTopic}`).toBe(200);
      for (const t of fn.triggers) {
        const res = await fetch(`${emulator()}/subscriptions/${t.subscription}`);
        expect(res.status, `subscription ${t.subscription}`).toBe(200);
        expect(await res.json()).toMatchObject({
          topic: `projects/${projectId}/topics/${t.topic}`,
          pushConfig: {
            pushEndpoint: `http://${hosts.get(fn.name)}/projects/${projectId}/topics/${t.topic}`,
          },
          ackDeadlineSeconds: fn.ackDeadlineSeconds,
          deadLetterPolicy: {
            deadLetterTopic: `projects/${projectId}/topics/${fn.deadLetterTopic}`,
            maxDeliveryAttempts: fn.maxDeliveryAttempts,
          },
        });
      }
    }
  }

  /** Publishes on `topic` and returns the report of the function the push reached. */
  async function deliver(topic: string): Promise<Report> {
    const nonce = Math.random().toString(36).slice(2);
    const data = Buffer.from(JSON.stringify({ reportTo: receiver.url, nonce })).toString('base64');
    const res = await fetch(`${emulator()}/topics/${topic}:publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ data }] }),
    });
    expect(res.status).toBe(200);
    const mine = () => (receiver.received as Report[]).find((r) => r.data.nonce === nonce);
    await receiver.until(() => mine() !== undefined, 30_000, `a push of the message published on ${topic}`);
    return mine()!;
  }

  async function devStatusJson(): Promise<{
    code: number;
    status: { parts: Record<string, { state: string; detail?: string }> };
  }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [join(repoRoot, 'cli', 'main.ts'), 'dev', 'status', '-o', 'json', '--state-dir', dir],
        { cwd: repoRoot, timeout: 60_000 },
        (err, stdout) =>
          resolve({
            code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
            status: JSON.parse(stdout),
          }),
      );
    });
  }

  it('an emulator that restarted empty, or lost part of its topology: not ready until up recreates all of it', async () => {
    await expectWholeTopology();
    const pids = functionPids();

    // The emulator dies; up starts it again where it was, and it knows no topic.
    const before = recorded().parts.pubsub;
    process.kill(-before.pid, 'SIGKILL');
    await waitFor(() => !isAlive(before.pid), { timeoutMs: 10_000, what: 'the emulator to die' });
    const afterCrash = await recovery.up();
    expect(afterCrash.parts).toMatchObject({ pubsub: { state: 'running' }, functions: { state: 'running' } });
    expect(recorded().parts.pubsub.pid).not.toBe(before.pid);
    expect(recorded().parts.pubsub.host).toBe(before.host);
    await expectWholeTopology();
    expect((await deliver(topology().stepTopic.analyze)).name).toBe('analyze');
    // The emulator moved nothing: the functions were not restarted, only their topology recreated.
    expect(functionPids()).toEqual(pids);

    // The emulator runs, but what it held is gone (as after a restart behind the stack's back).
    const analyze = topology().functions.find((f) => f.name === 'analyze')!;
    await fetch(`${emulator()}/subscriptions/${analyze.triggers[0]!.subscription}`, { method: 'DELETE' });
    await fetch(`${emulator()}/topics/${analyze.deadLetterTopic}`, { method: 'DELETE' });
    const { code, status } = await devStatusJson();
    expect(code).not.toBe(0);
    expect(status.parts.pubsub).toMatchObject({ state: 'running' });
    expect(status.parts.functions).toMatchObject({
      state: 'not-ready',
      detail: expect.stringContaining(analyze.triggers[0]!.subscription),
    });

    const repaired = await recovery.up();
    expect(repaired.parts.functions.state).toBe('running');
    await expectWholeTopology();
    expect((await deliver(topology().stepTopic.analyze)).name).toBe('analyze');
    expect(functionPids()).toEqual(pids);
  });

  it('a dead control plane: up restarts it on the etcd data, objects made before are still there', async () => {
    namespace = `recovery-${Date.now().toString(36)}`;
    await kube.core.createNamespace({ body: { metadata: { name: namespace } } });
    await waitFor(() => kube.core.readNamespacedServiceAccount({ name: 'default', namespace }), {
      timeoutMs: 30_000,
      what: 'the default ServiceAccount',
    });
    const deployment = await kube.apps.createNamespacedDeployment({
      namespace,
      body: plainDeployment('api', 1),
    });
    const svc = await kube.core.createNamespacedService({
      namespace,
      body: service('api', { app: 'api' }),
    });
    await waitForDeploymentAvailable(kube, namespace, 'api');
    const etcd = componentPid('etcd');
    const apiServer = componentPid('kube-apiserver');
    const pids = functionPids();
    const address = recorded().parts.kubernetes.apiServer;

    const controllers = ['kube-controller-manager', 'kube-scheduler'].map(componentPid);
    process.kill(apiServer, 'SIGKILL');
    await waitFor(() => !isAlive(apiServer), { timeoutMs: 10_000, what: 'the API server to die' });
    // Left without an API server, the controllers lose their leader leases and exit too.
    await waitFor(() => controllers.every((pid) => !isAlive(pid)), {
      timeoutMs: 60_000,
      what: 'kube-controller-manager and kube-scheduler to exit',
    });
    expect((await recovery.status()).parts.kubernetes).toMatchObject({
      state: 'failed',
      detail: 'not running: kube-apiserver, kube-controller-manager, kube-scheduler',
    });

    const up = await recovery.up();
    expect(up.parts).toMatchObject({ kubernetes: { state: 'running' }, functions: { state: 'running' } });
    expect(componentPid('kube-apiserver')).not.toBe(apiServer);
    expect(
      ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map(componentPid).every(isAlive),
    ).toBe(true);
    expect(componentPid('etcd')).toBe(etcd);
    expect(recorded().parts.kubernetes.apiServer).toBe(address);
    const again = kubeClients(recorded().parts.kubernetes.kubeconfig);
    const d = await again.apps.readNamespacedDeployment({ name: 'api', namespace });
    expect(d.metadata?.uid).toBe(deployment.metadata?.uid);
    expect((await again.core.readNamespacedService({ name: 'api', namespace })).metadata?.uid).toBe(
      svc.metadata?.uid,
    );
    // The controllers, the scheduler and kwok still do their work.
    d.spec!.replicas = 2;
    await again.apps.replaceNamespacedDeployment({ name: 'api', namespace, body: d });
    await waitForDeploymentAvailable(again, namespace, 'api');
    // The address did not change, so the functions kept running.
    expect(functionPids()).toEqual(pids);
  });

  it('an API server whose port was taken while it was down: it moves, and the functions are restarted against it', async () => {
    const old = recorded().parts.kubernetes.apiServer;
    const oldPort = Number(new URL(old).port);
    const apiServer = componentPid('kube-apiserver');
    const pids = functionPids();
    const scheduler = recorded().parts.functions.scheduler!.pid;
    process.kill(apiServer, 'SIGKILL');
    await waitFor(() => !isAlive(apiServer), { timeoutMs: 10_000, what: 'the API server to die' });
    // Someone else takes the port meanwhile (and hangs up on whoever still calls the old address).
    const squatter: Server = createServer((socket) => socket.destroy());
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          squatter.once('error', () => resolve(false));
          squatter.listen(oldPort, '127.0.0.1', () => resolve(true));
        }),
      { timeoutMs: 10_000, what: `port ${oldPort} to be free for the squatter` },
    );
    try {
      const up = await recovery.up();
      expect(up.parts).toMatchObject({ kubernetes: { state: 'running' }, functions: { state: 'running' } });
      const moved = recorded().parts.kubernetes.apiServer;
      expect(moved).not.toBe(old);
      const again = kubeClients(recorded().parts.kubernetes.kubeconfig);
      expect(again.kubeConfig.getCurrentCluster()?.server).toBe(moved);
      // Same cluster, same data.
      expect((await again.apps.readNamespacedDeployment({ name: 'api', namespace })).spec?.replicas).toBe(2);

      // Every function and the scheduler tick run again, started against the new address.
      const now = functionPids();
      for (const [i, pid] of now.entries()) {
        expect(pid).not.toBe(pids[i]);
        expect(isAlive(pids[i])).toBe(false);
      }
      expect(recorded().parts.functions.scheduler!.pid).not.toBe(scheduler);
      const report = await deliver(topology().controlTopic);
      expect(report).toMatchObject({ name: 'control', apiServer: moved });
      expect(now).toContain(report.pid);
      expect((await recovery.status()).parts.functions.state).toBe('running');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
