// The local stack's Kubernetes: a real control plane (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler) with simulated nodes and pods (kwok), created by `kwokctl --runtime binary` from
// binaries built by infra/local/build-binaries.sh. No containers run: pods' lifecycles come from kwok
// Stage resources (infra/local/kube/stages/), chosen per pod by the label `stageLabel` below, so tests
// can make a revision healthy, slow, broken or crash-looping on purpose. The Gateway API's
// standard-channel CRDs (infra/local/gateway-api.sh) are installed too, so HTTPRoutes exist.
//
// Everything lives under ctx.stateDir/kwok (KWOK_WORKDIR), never in ~/.kwok or ~/.kube, and every
// port is chosen on 127.0.0.1 by the kernel, so several stacks can run side by side.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  ApiException,
  ApiextensionsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  Health,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1CustomResourceDefinition,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { parseAllDocuments, parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { freePort, isAlive, portFreed, waitFor } from '../process.ts';
import { type Part, type PartStatus, type StackContext, WouldLoseDataError } from './part.ts';

const run = promisify(execFile);

/** Pod label that selects a simulated behaviour (a kwok Stage); no label means Running and Ready at once. */
export const stageLabel = 'switchyard.dev/stage';

/**
 * Values of `stageLabel`, a contract with infra/local/kube/stages/stages.yaml and the test suites.
 * - readyAfterDelay: Running, not Ready; Ready after `stageAnnotations.readyAfterSeconds` (default 5 s).
 * - neverReady: Running, never Ready (a Deployment of them ends in ProgressDeadlineExceeded).
 * - crashLoop: never Ready; container waiting in CrashLoopBackOff, restartCount +1 every 2 s.
 * - failAfterReady: Ready at once, NotReady after `stageAnnotations.failAfterSeconds` (default 3 s);
 *   the pod stays Running (like a readiness probe that starts failing) and is not replaced.
 * - jobSucceed / jobFail: Running, then after 1 s Succeeded (exit 0) / Failed (exit 1).
 */
export const podStages = {
  readyAfterDelay: 'ready-after-delay',
  neverReady: 'never-ready',
  crashLoop: 'crash-loop',
  failAfterReady: 'fail-after-ready',
  jobSucceed: 'job-succeed',
  jobFail: 'job-fail',
} as const;

export type PodStage = (typeof podStages)[keyof typeof podStages];

/**
 * The context name in every local stack's kubeconfig, whatever kwokctl calls the cluster, so a
 * target for the local stack can say `cluster: {context: switchyard-local}`.
 */
export const localContext = 'switchyard-local';

/** Renames the kubeconfig's (single) context and makes it the current one. */
function withContextName(kubeconfig: string, name: string): string {
  const doc = parseYaml(kubeconfig) as { contexts?: { name: string }[]; 'current-context'?: string };
  for (const c of doc.contexts ?? []) c.name = name;
  doc['current-context'] = name;
  return stringifyYaml(doc);
}

/**
 * Pods running an image whose digest starts with this prefix never become ready, whatever their
 * labels: the stand-in for a broken build in release tests (the green revision keeps the stable
 * template, so only its image differs).
 */
export const neverReadyDigestPrefix = 'sha256:bad0';

/** Pod annotations read by the stages: seconds as a number ("2", "0.5") or a Go duration ("1500ms"). */
export const stageAnnotations = {
  readyAfterSeconds: 'switchyard.dev/ready-after-seconds',
  failAfterSeconds: 'switchyard.dev/fail-after-seconds',
} as const;

/** Label carried by every simulated node (key `type`, value `kwok`), as in kwok's own examples. */
export const kwokNodeLabel = { key: 'type', value: 'kwok' } as const;

/** Number of simulated nodes the cluster starts with. */
export const kwokNodeCount = 3;

export const kubeVersion = 'v1.36.3';

export interface KubeState {
  /** kwokctl cluster name, unique per stack. */
  clusterName: string;
  /** KWOK_WORKDIR of this stack (the cluster's files are in `${workdir}/clusters/${clusterName}`). */
  workdir: string;
  /** Absolute path of the admin kubeconfig (client certificate auth). */
  kubeconfig: string;
  /** Folder of the etcd, kube-*, kubectl and kwok binaries. */
  binDir: string;
  /** https://127.0.0.1:<port> */
  apiServer: string;
  /** Names of the simulated nodes. */
  nodes: string[];
  /** Folder of the components' log files. */
  logDir: string;
  /**
   * The control plane's processes as kwokctl recorded them (kwok.yaml) and where their pid files
   * are, so `check` reads a few pid files instead of parsing kwok.yaml. Absent in older states.
   */
  components?: { name: string; pidFile: string }[];
}

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const buildScript = join(repoRoot, 'infra', 'local', 'build-binaries.sh');
const stagesDir = join(repoRoot, 'infra', 'local', 'kube', 'stages');
const binaries = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
  'kwok',
  'kwokctl',
];

/**
 * Runs infra/local/build-binaries.sh (cached: returns at once after the first build) and returns the
 * folder holding all binaries. Build progress is forwarded to `log`.
 */
export async function kubeBinaries(log: (message: string) => void): Promise<string> {
  const child = spawn('bash', [buildScript], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderrTail = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-4000);
    for (const line of chunk.split('\n')) if (line.trim()) log(line.trim());
  });
  const code = await new Promise<number | null>((resolveExit, reject) => {
    child.on('error', reject);
    child.on('close', resolveExit);
  });
  const binDir = stdout.trim().split('\n').pop()?.trim() ?? '';
  if (code !== 0 || !binDir) {
    throw new Error(`${buildScript} failed (exit ${code}):\n${stderrTail}`);
  }
  const missing = binaries.filter((b) => !existsSync(join(binDir, b)));
  if (missing.length > 0)
    throw new Error(`${buildScript} printed ${binDir}, which lacks ${missing.join(', ')}`);
  return binDir;
}

const gatewayApiScript = join(repoRoot, 'infra', 'local', 'gateway-api.sh');

const serverSideApply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

/** The CRD the stack waits for; the Gateway API's other standard-channel CRDs come with it. */
export const httpRouteCrd = 'httproutes.gateway.networking.k8s.io';

/**
 * Runs infra/local/gateway-api.sh (the Go module cache makes it instant after the first download)
 * and returns the CustomResourceDefinitions of the standard-channel folder it printed, parsed.
 */
async function gatewayApiCrds(): Promise<V1CustomResourceDefinition[]> {
  let dir: string;
  try {
    const { stdout } = await run('bash', [gatewayApiScript], { timeout: 120_000 });
    dir = stdout.trim().split('\n').pop()?.trim() ?? '';
    if (!dir || !existsSync(dir)) throw new Error(`it printed "${dir}", which is not a folder`);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${gatewayApiScript} failed: ${e.message}\n${(e.stderr ?? '').slice(-3000)}`);
  }
  // The folder's safe-upgrades ValidatingAdmissionPolicy only guards later upgrades of the CRDs,
  // which a throwaway cluster never sees, so only the CRDs are kept.
  const crds: V1CustomResourceDefinition[] = [];
  for (const f of readdirSync(dir).filter((name) => name.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(await readFile(join(dir, f), 'utf8'))) {
      const obj = doc.toJS() as V1CustomResourceDefinition | null;
      if (obj?.kind === 'CustomResourceDefinition') crds.push(obj);
    }
  }
  if (!crds.some((c) => c.metadata?.name === httpRouteCrd)) {
    throw new Error(`${dir} holds no ${httpRouteCrd}`);
  }
  return crds;
}

/**
 * Server-side applies the Gateway API CRDs and waits until the HTTPRoute CRD is Established, so
 * routers are tested against the real HTTPRoute schema, defaults and validation. No Gateway
 * controller runs: tests write route status themselves.
 */
async function installGatewayApi(
  kc: KubeConfig,
  crds: V1CustomResourceDefinition[],
  ctx: StackContext,
): Promise<void> {
  const t0 = Date.now();
  const extensions = kc.makeApiClient(ApiextensionsV1Api);
  // The body goes out as the raw parsed YAML (typed `any` in the client), never through the
  // client's model serializer, which would drop keys such as x-kubernetes-validations. In parallel:
  // the API server compiling each CRD's schema and CEL rules is the slow part.
  await Promise.all(
    crds.map((body) =>
      extensions.patchCustomResourceDefinition(
        { name: body.metadata?.name ?? '', body, fieldManager: 'switchyard-local', force: true },
        serverSideApply,
      ),
    ),
  );
  await waitFor(
    async () => {
      const crd = await extensions.readCustomResourceDefinition({ name: httpRouteCrd });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    },
    { timeoutMs: 60_000, intervalMs: 100, what: `CRD ${httpRouteCrd} to be Established` },
  );
  const version =
    crds.find((d) => d.metadata?.name === httpRouteCrd)?.metadata?.annotations?.[
      'gateway.networking.k8s.io/bundle-version'
    ] ?? 'unknown version';
  ctx.log(
    `kubernetes: Gateway API ${version} CRDs (${crds.length}) applied in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
}

/** kwokctl cluster name for a stack: readable (project id) and unique per state folder. */
function clusterNameFor(ctx: StackContext): string {
  const slug = ctx.projectId
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 20);
  const hash = createHash('sha256').update(resolve(ctx.stateDir)).digest('hex').slice(0, 6);
  return `switchyard-${slug || 'stack'}-${hash}`;
}

function clusterDir(state: Pick<KubeState, 'workdir' | 'clusterName'>): string {
  return join(state.workdir, 'clusters', state.clusterName);
}

/** Runs kwokctl for one cluster with KWOK_WORKDIR isolating it; output is appended to kwokctl.log. */
async function kwokctl(
  state: Pick<KubeState, 'workdir' | 'clusterName' | 'binDir'>,
  args: string[],
  timeoutMs: number,
): Promise<string> {
  const logFile = join(state.workdir, 'kwokctl.log');
  try {
    const { stdout, stderr } = await run(
      join(state.binDir, 'kwokctl'),
      ['--name', state.clusterName, ...args],
      {
        env: { ...process.env, KWOK_WORKDIR: state.workdir },
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    await writeFile(logFile, `$ kwokctl ${args.join(' ')}\n${stderr}`, { flag: 'a' });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    await writeFile(logFile, `$ kwokctl ${args.join(' ')}\n${e.stderr ?? e.message}\n`, { flag: 'a' }).catch(
      () => {},
    );
    throw new Error(
      `kwokctl ${args.slice(0, 2).join(' ')} failed: ${e.message}\n${(e.stderr ?? '').slice(-3000)}`,
    );
  }
}

/**
 * Pids of the live processes belonging to a cluster: those whose command line mentions the cluster's
 * folder (every component gets its certificates, kubeconfig, config or data dir from there). Scanning /proc rather than trusting kwokctl's pid files also finds components whose pid
 * file is gone (a crash half-way through `kwokctl create`) and never hits an unrelated process that
 * reused a stale pid. Linux only.
 */
function clusterProcesses(dir: string): number[] {
  const pids: number[] = [];
  const inside = `${dir}/`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      // Zombies (state Z) are already dead; only their parent can reap them.
      if (/\) Z /.test(readFileSync(`/proc/${entry}/stat`, 'utf8'))) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(inside)) pids.push(pid);
    } catch {
      // The process exited while we looked, or is not ours to inspect.
    }
  }
  return pids;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  // kwokctl starts every component with setsid, so pid == process group id: signal the whole group
  // first (children included), then the pid itself in case it is not a group leader.
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, sig);
    } catch {
      // Already gone.
    }
  }
}

/** Kills every process of the cluster (SIGTERM, then SIGKILL) and waits until none is left. */
async function killClusterProcesses(dir: string, graceMs = 5000): Promise<void> {
  let pids = clusterProcesses(dir);
  if (pids.length === 0) return;
  for (const pid of pids) signal(pid, 'SIGTERM');
  try {
    await waitFor(() => clusterProcesses(dir).length === 0, {
      timeoutMs: graceMs,
      intervalMs: 100,
      what: 'cluster processes to stop',
    });
    return;
  } catch {
    pids = clusterProcesses(dir);
  }
  for (const pid of pids) signal(pid, 'SIGKILL');
  await waitFor(() => clusterProcesses(dir).length === 0, {
    timeoutMs: 10_000,
    intervalMs: 100,
    what: `cluster processes ${pids.join(', ')} to die after SIGKILL`,
  });
}

/**
 * Deletes a cluster and everything it left: `kwokctl delete cluster`, then any surviving process,
 * then the cluster's folder. Safe on a half-created or already deleted cluster.
 */
async function deleteCluster(
  state: Pick<KubeState, 'workdir' | 'clusterName' | 'binDir'>,
  ctx: StackContext,
) {
  const dir = clusterDir(state);
  if (!existsSync(dir) && clusterProcesses(dir).length === 0) return;
  if (existsSync(join(state.binDir, 'kwokctl')) && existsSync(dir)) {
    try {
      await kwokctl(state, ['delete', 'cluster'], 60_000);
    } catch (err) {
      ctx.log(`kubernetes: ${(err as Error).message.split('\n')[0]}; killing the processes instead`);
    }
  }
  await killClusterProcesses(dir);
  await rm(dir, { recursive: true, force: true });
}

function kubeConfigFrom(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

/** True when the API server's /readyz answers 200 to the admin client certificate. */
async function apiReady(kc: KubeConfig): Promise<boolean> {
  try {
    return await new Health(kc).readyz({ signal: AbortSignal.timeout(3000) });
  } catch {
    return false;
  }
}

function isConflict(err: unknown): boolean {
  return err instanceof ApiException && err.code === 409;
}

function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

const zones = ['europe-west1-b', 'europe-west1-c', 'europe-west1-d'];

/** A simulated node: managed by kwok (kwokctl's kwok manages all nodes), schedulable, no taints. */
function kwokNode(index: number): V1Node {
  const name = `kwok-node-${index}`;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        [kwokNodeLabel.key]: kwokNodeLabel.value,
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/hostname': name,
        'node-role.kubernetes.io/agent': '',
        'topology.kubernetes.io/zone': zones[index % zones.length]!,
      },
    },
    spec: {},
    status: {
      allocatable: { cpu: '32', memory: '128Gi', pods: '110' },
      capacity: { cpu: '32', memory: '128Gi', pods: '110' },
    },
  };
}

function nodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function podReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Creates the nodes and waits until the cluster can run a pod end to end. */
async function prepareCluster(kc: KubeConfig, ctx: StackContext): Promise<string[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const names: string[] = [];
  for (let i = 0; i < kwokNodeCount; i++) {
    const node = kwokNode(i);
    names.push(node.metadata!.name!);
    try {
      await core.createNode({ body: node });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  await waitFor(
    async () => {
      const list = await core.listNode({ labelSelector: `${kwokNodeLabel.key}=${kwokNodeLabel.value}` });
      return list.items.filter(nodeReady).length >= kwokNodeCount;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `${kwokNodeCount} kwok nodes to be Ready` },
  );
  ctx.log(`kubernetes: ${kwokNodeCount} nodes Ready`);

  // The service account controller (kube-controller-manager) creates `default` in each namespace;
  // pods created before it exists are rejected by the ServiceAccount admission plugin.
  await waitFor(() => core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' }), {
    timeoutMs: 60_000,
    intervalMs: 250,
    what: 'the default ServiceAccount in namespace default',
  });

  // One pod end to end proves the scheduler binds pods to kwok nodes and kwok plays the stages.
  const probe = `switchyard-probe-${Date.now().toString(36)}`;
  await core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name: probe, labels: { app: 'switchyard-probe' } },
      spec: {
        containers: [{ name: 'probe', image: 'switchyard.local/probe:1' }],
        terminationGracePeriodSeconds: 0,
      },
    },
  });
  await waitFor(
    async () => {
      const pod = await core.readNamespacedPod({ name: probe, namespace: 'default' });
      return Boolean(pod.spec?.nodeName) && podReady(pod);
    },
    { timeoutMs: 60_000, intervalMs: 250, what: 'a probe pod to be scheduled and Ready' },
  );
  await core.deleteNamespacedPod({ name: probe, namespace: 'default', gracePeriodSeconds: 0 });
  await waitFor(
    async () => {
      try {
        await core.readNamespacedPod({ name: probe, namespace: 'default' });
        return false;
      } catch (err) {
        if (isNotFound(err)) return true;
        throw err;
      }
    },
    { timeoutMs: 30_000, intervalMs: 250, what: 'the probe pod to be deleted' },
  );
  return names;
}

/** `count` distinct free loopback ports, chosen by the kernel so parallel stacks do not collide. */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

async function createCluster(state: KubeState): Promise<void> {
  const [apiPort, etcdPort, etcdPeerPort, kcmPort, schedulerPort, kwokPort] = await freePorts(6);
  // Options without a kwokctl flag go through a KwokctlConfiguration document; the Stage documents
  // replace kwokctl's default stages entirely (it injects its defaults only when none are given).
  const configFile = join(state.workdir, 'kwokctl-options.yaml');
  await writeFile(
    configFile,
    [
      'apiVersion: config.kwok.x-k8s.io/v1alpha1',
      'kind: KwokctlConfiguration',
      'options:',
      '  bindAddress: 127.0.0.1',
      `  kubeVersion: ${kubeVersion}`,
      `  etcdPeerPort: ${etcdPeerPort}`,
      '',
    ].join('\n'),
  );
  const stageFiles = readdirSync(stagesDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(stagesDir, f));
  if (stageFiles.length === 0) throw new Error(`no stage files in ${stagesDir}`);
  const bin = (name: string) => join(state.binDir, name);
  await kwokctl(
    state,
    [
      'create',
      'cluster',
      ...[configFile, ...stageFiles].flatMap((f) => ['--config', f]),
      '--runtime=binary',
      // Empty: do not add a context to ~/.kube/config; the kubeconfig is fetched below instead.
      '--kubeconfig=',
      `--kube-apiserver-port=${apiPort}`,
      `--etcd-port=${etcdPort}`,
      `--kube-controller-manager-port=${kcmPort}`,
      `--kube-scheduler-port=${schedulerPort}`,
      `--controller-port=${kwokPort}`,
      `--etcd-binary=${bin('etcd')}`,
      `--kube-apiserver-binary=${bin('kube-apiserver')}`,
      `--kube-controller-manager-binary=${bin('kube-controller-manager')}`,
      `--kube-scheduler-binary=${bin('kube-scheduler')}`,
      `--kwok-controller-binary=${bin('kwok')}`,
      '--timeout=120s',
    ],
    150_000,
  );
  state.apiServer = `https://127.0.0.1:${apiPort}`;
}

/** kwokctl's record of a cluster (in its folder): options, and every component's binary and arguments. */
const kwokConfigName = 'kwok.yaml';
/** The kubeconfig the components (and `kwokctl get kubeconfig`) use, in the cluster's folder. */
const inHostKubeconfigName = 'kubeconfig.yaml';

interface RecordedComponent {
  name: string;
  binary: string;
  workDir: string;
  args: string[];
  ports: { port?: number; hostPort?: number }[];
}

/** The components kwokctl recorded for the cluster; [] when there is no record. */
function recordedComponents(state: Pick<KubeState, 'workdir' | 'clusterName'>): RecordedComponent[] {
  const file = join(clusterDir(state), kwokConfigName);
  if (!existsSync(file)) return [];
  // Only the configuration document: the Stage documents after it are most of the file.
  const text = readFileSync(file, 'utf8');
  const own = text.split(/^---\s*$/m).find((doc) => /^kind: KwokctlConfiguration\s*$/m.test(doc));
  const obj = (own ? parseYaml(own) : null) as { components?: RecordedComponent[] } | null;
  return obj?.components ?? [];
}

/** kwokctl's pid file of a component (binary runtime: <workDir>/pids/<binary name>.pid). */
function pidFile(c: RecordedComponent): string {
  return join(c.workDir, 'pids', `${basename(c.binary)}.pid`);
}

/** What `check` needs of each component: its name and its pid file. */
function componentRecord(state: KubeState): { name: string; pidFile: string }[] {
  return state.components ?? recordedComponents(state).map((c) => ({ name: c.name, pidFile: pidFile(c) }));
}

/**
 * Each component with its pid and whether that process runs and is this cluster's (a zombie, or a
 * pid reused by another process, is not: kwokctl would take either for running).
 */
function componentStates(
  state: KubeState,
): { name: string; pidFile: string; pid?: number; alive: boolean }[] {
  const inside = `${clusterDir(state)}/`;
  return componentRecord(state).map((c) => {
    let pid: number | undefined;
    try {
      pid = Number(readFileSync(c.pidFile, 'utf8').trim()) || undefined;
    } catch {
      pid = undefined;
    }
    let alive = false;
    if (pid && isAlive(pid)) {
      try {
        alive = readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(inside);
      } catch {
        alive = false;
      }
    }
    return { ...c, pid, alive };
  });
}

/** Stops one component's process (group) and removes its pid file, so `kwokctl start` starts it again. */
async function stopComponent(c: {
  name: string;
  pidFile: string;
  pid?: number;
  alive: boolean;
}): Promise<void> {
  if (c.pid && c.alive) {
    signal(c.pid, 'SIGTERM');
    try {
      await waitFor(() => !isAlive(c.pid), { timeoutMs: 5000, intervalMs: 100, what: `${c.name} to stop` });
    } catch {
      signal(c.pid, 'SIGKILL');
      await waitFor(() => !isAlive(c.pid), { timeoutMs: 5000, intervalMs: 100, what: `${c.name} to die` });
    }
  }
  rmSync(c.pidFile, { force: true });
}

/**
 * Moves the API server of a stopped cluster to `port`: its arguments, ports and metrics address
 * in kwok.yaml, the option kwokctl keeps, and the server of the cluster's own kubeconfig (the one
 * the controllers, kwok and `kwokctl get kubeconfig` read). The certificates name 127.0.0.1, not a
 * port, so they stay valid.
 */
async function moveApiServer(state: KubeState, from: number, to: number): Promise<void> {
  const dir = clusterDir(state);
  const configFile = join(dir, kwokConfigName);
  // Only the configuration document is rewritten; the separators and Stage documents stay as they are.
  const chunks = (await readFile(configFile, 'utf8')).split(/^(---\s*)$/m);
  const index = chunks.findIndex((doc) => /^kind: KwokctlConfiguration\s*$/m.test(doc));
  if (index < 0) throw new Error(`${configFile} holds no KwokctlConfiguration`);
  const config = parseYaml(chunks[index]!) as {
    options?: { kubeApiserverPort?: number };
    components?: (RecordedComponent & { metric?: { host?: string } })[];
  };
  if (config.options?.kubeApiserverPort === from) config.options.kubeApiserverPort = to;
  const apiServer = config.components?.find((c) => c.name === 'kube-apiserver');
  if (!apiServer?.args.includes(`--secure-port=${from}`)) {
    throw new Error(`${configFile} records no kube-apiserver with --secure-port=${from}`);
  }
  apiServer.args = apiServer.args.map((a) => (a === `--secure-port=${from}` ? `--secure-port=${to}` : a));
  for (const p of apiServer.ports ?? []) {
    if (p.port === from) p.port = to;
    if (p.hostPort === from) p.hostPort = to;
  }
  if (apiServer.metric?.host === `127.0.0.1:${from}`) apiServer.metric.host = `127.0.0.1:${to}`;
  chunks[index] = `${chunks[index]!.startsWith('\n') ? '\n' : ''}${stringifyYaml(config)}`;

  const kubeconfigFile = join(dir, inHostKubeconfigName);
  const kubeconfig = parseYaml(await readFile(kubeconfigFile, 'utf8')) as {
    clusters?: { cluster?: { server?: string } }[];
  };
  for (const c of kubeconfig.clusters ?? []) {
    if (c.cluster?.server === `https://127.0.0.1:${from}`) c.cluster.server = `https://127.0.0.1:${to}`;
  }
  await writeFile(`${configFile}.tmp`, chunks.join(''));
  await writeFile(kubeconfigFile, stringifyYaml(kubeconfig), { mode: 0o600 });
  await rename(`${configFile}.tmp`, configFile);
}

/** The port of an https://127.0.0.1:<port> address. */
const portOf = (server: string) => Number(new URL(server).port);

/** Writes the admin kubeconfig from the cluster's own (kwokctl get kubeconfig), when it differs. */
async function refreshKubeconfig(state: KubeState): Promise<KubeConfig> {
  const kubeconfig = withContextName(await kwokctl(state, ['get', 'kubeconfig'], 30_000), localContext);
  const current = existsSync(state.kubeconfig) ? await readFile(state.kubeconfig, 'utf8') : '';
  if (current !== kubeconfig) await writeFile(state.kubeconfig, kubeconfig, { mode: 0o600 });
  const kc = kubeConfigFrom(state.kubeconfig);
  const server = kc.getCurrentCluster()?.server;
  if (server !== state.apiServer)
    throw new Error(`kubeconfig points at ${server}, expected ${state.apiServer}`);
  return kc;
}

/** Components that run only while they hold a leader lease in kube-system (named after them). */
const leaderElected = ['kube-controller-manager', 'kube-scheduler'];

/**
 * Waits until every leader-elected component holds its lease, renewed since the API server answers
 * again. Running is not enough: they exit when they could not renew the lease while the API server
 * was away (about 10 s after it went), which may be just after it came back. One that exited is
 * started again; a new process takes the lease once the old one expired.
 */
async function waitForLeaders(state: KubeState, kc: KubeConfig, ctx: StackContext): Promise<void> {
  const back = Date.now();
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const elected = componentRecord(state)
    .map((c) => c.name)
    .filter((name) => leaderElected.includes(name));
  await waitFor(
    async () => {
      const dead = componentStates(state).filter((c) => !c.alive);
      if (dead.length > 0) {
        for (const c of dead) rmSync(c.pidFile, { force: true });
        ctx.log(`kubernetes: ${dead.map((c) => c.name).join(', ')} exited meanwhile; starting again`);
        await kwokctl(state, ['start', 'cluster', '--timeout=120s'], 150_000);
        return false;
      }
      for (const name of elected) {
        // The lease lives in etcd from the component's first start on: none means no leader election.
        const lease = await coordination
          .readNamespacedLease({ name, namespace: 'kube-system' })
          .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
        // Typed as a Date, but the client hands MicroTime over as its RFC 3339 string.
        const renewed = lease?.spec?.renewTime;
        const renewedAt = renewed instanceof Date ? renewed.getTime() : Date.parse(String(renewed ?? ''));
        if (lease && !(renewedAt >= back)) {
          throw new Error(`${name} has not renewed its lease since the API server came back`);
        }
      }
      return true;
    },
    { timeoutMs: 90_000, intervalMs: 500, what: `${elected.join(' and ')} to hold their leases again` },
  );
}

/**
 * The repair of the Kubernetes part: components that died are started again by `kwokctl start
 * cluster` (which starts only those not running) on the cluster's files; an API server that runs but
 * does not answer is restarted too. Then the admin kubeconfig is refreshed and the nodes are Ready.
 */
async function restartControlPlane(state: KubeState, ctx: StackContext): Promise<KubeState> {
  const t0 = Date.now();
  const recorded = recordedComponents(state);
  if (recorded.length === 0) throw new Error(`${kwokConfigName} records no components`);
  let next: KubeState = {
    ...state,
    components: recorded.map((c) => ({ name: c.name, pidFile: pidFile(c) })),
  };
  let components = componentStates(next);
  if (components.every((c) => c.alive)) {
    // All run (the kubeconfig was lost, or the API server does not answer): a moment to answer,
    // then the API server is restarted.
    const kc = await refreshKubeconfig(next);
    const answers = await waitFor(() => apiReady(kc), {
      timeoutMs: 20_000,
      intervalMs: 500,
      what: 'readyz',
    }).catch(() => false);
    const apiServer = components.find((c) => c.name === 'kube-apiserver');
    if (!answers && apiServer) {
      ctx.log('kubernetes: the API server runs but does not answer; restarting it');
      await stopComponent(apiServer);
      components = componentStates(next);
    }
  }
  const dead = components.filter((c) => !c.alive);
  if (dead.length > 0) {
    // A dead process may be a zombie or its pid reused: without its pid file kwokctl starts it again.
    for (const c of dead) rmSync(c.pidFile, { force: true });
    ctx.log(`kubernetes: restarting ${dead.map((c) => c.name).join(', ')} on the cluster's etcd data`);
    const apiPort = portOf(next.apiServer);
    if (dead.some((c) => c.name === 'kube-apiserver') && !(await portFreed(apiPort, 5000))) {
      const [port] = await freePorts(1);
      ctx.log(`kubernetes: port ${apiPort} of the API server is taken; moving it to ${port}`);
      await moveApiServer(next, apiPort, port!);
      next = { ...next, apiServer: `https://127.0.0.1:${port}` };
      // The controllers and kwok read the address once, at start: restart them against the new one.
      for (const c of components.filter((x) => x.alive && x.name !== 'etcd')) await stopComponent(c);
    }
    await kwokctl(next, ['start', 'cluster', '--timeout=120s'], 150_000);
    await waitFor(
      () => {
        const down = componentStates(next).filter((c) => !c.alive);
        if (down.length > 0) throw new Error(`not running: ${down.map((c) => c.name).join(', ')}`);
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'every component to run' },
    );
  }

  const kc = await refreshKubeconfig(next);
  await waitFor(() => apiReady(kc), {
    timeoutMs: 60_000,
    intervalMs: 250,
    what: `the API server ${next.apiServer}/readyz`,
  });
  await waitForLeaders(next, kc, ctx);
  const core = kc.makeApiClient(CoreV1Api);
  await waitFor(
    async () => {
      const list = await core.listNode({ labelSelector: `${kwokNodeLabel.key}=${kwokNodeLabel.value}` });
      return list.items.filter(nodeReady).length >= next.nodes.length;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `${next.nodes.length} kwok nodes to be Ready again` },
  );
  ctx.log(
    `kubernetes: control plane back on ${next.apiServer} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return next;
}

export const kubernetesPart: Part<KubeState> = {
  name: 'kubernetes',

  async start(ctx) {
    const t0 = Date.now();
    const binDir = await kubeBinaries(ctx.log);
    const workdir = resolve(ctx.stateDir, 'kwok');
    const clusterName = clusterNameFor(ctx);
    const state: KubeState = {
      clusterName,
      workdir,
      binDir,
      kubeconfig: resolve(ctx.stateDir, 'kubeconfig.yaml'),
      apiServer: '',
      nodes: [],
      logDir: join(workdir, 'clusters', clusterName, 'logs'),
    };
    await mkdir(workdir, { recursive: true });

    // A stack that was killed leaves its cluster folder and maybe running components: clear them
    // before kwokctl, which would otherwise try to reuse a half-dead cluster.
    if (existsSync(clusterDir(state)) || clusterProcesses(clusterDir(state)).length > 0) {
      ctx.log(`kubernetes: removing cluster ${clusterName} left by an earlier run`);
      await deleteCluster(state, ctx);
    }

    ctx.log(`kubernetes: creating cluster ${clusterName} (kwokctl, binary runtime)`);
    // Fetched and parsed while the cluster starts; the rejection is handled where it is awaited.
    const crds = gatewayApiCrds();
    crds.catch(() => {});
    try {
      // A port picked by freePort can be taken by someone else before etcd or the API server binds
      // it; one retry with fresh ports makes that race harmless.
      try {
        await createCluster(state);
      } catch (err) {
        ctx.log(
          `kubernetes: cluster creation failed, retrying once: ${(err as Error).message.split('\n')[0]}`,
        );
        await deleteCluster(state, ctx);
        await createCluster(state);
      }
      const kubeconfig = await kwokctl(state, ['get', 'kubeconfig'], 30_000);
      await writeFile(state.kubeconfig, withContextName(kubeconfig, localContext), { mode: 0o600 });
      const kc = kubeConfigFrom(state.kubeconfig);
      const server = kc.getCurrentCluster()?.server;
      if (server !== state.apiServer) {
        throw new Error(`kubeconfig points at ${server}, expected ${state.apiServer}`);
      }
      await waitFor(() => apiReady(kc), {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: `the API server ${state.apiServer}/readyz (logs: ${state.logDir})`,
      });
      ctx.log(`kubernetes: API server ready on ${state.apiServer}`);
      // Independent of each other: the API server compiles the CRDs' schemas and CEL rules while
      // the nodes come up and the probe pod runs, which hides most of the CRDs' cost.
      const [nodes] = await Promise.all([
        prepareCluster(kc, ctx),
        crds.then((list) => installGatewayApi(kc, list, ctx)),
      ]);
      state.nodes = nodes;
      state.components = recordedComponents(state).map((c) => ({ name: c.name, pidFile: pidFile(c) }));
    } catch (err) {
      const logs = existsSync(state.logDir) ? ` (component logs: ${state.logDir})` : '';
      ctx.log(`kubernetes: start failed${logs}; deleting the cluster`);
      await deleteCluster(state, ctx).catch((cleanupErr: unknown) => {
        ctx.log(`kubernetes: cleanup failed too: ${(cleanupErr as Error).message}`);
      });
      throw err;
    }
    ctx.log(`kubernetes: cluster ${clusterName} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return state;
  },

  async stop(state, ctx) {
    await deleteCluster(state, ctx);
    await rm(state.kubeconfig, { force: true });
  },

  /** The API server's address and a digest of the admin kubeconfig (a new cluster has new certificates). */
  endpoint(state) {
    try {
      const digest = createHash('sha256').update(readFileSync(state.kubeconfig)).digest('hex').slice(0, 12);
      return `${state.apiServer} (kubeconfig ${digest})`;
    } catch {
      return state.apiServer;
    }
  },

  /**
   * Restarts what died of the control plane on the cluster's own files: etcd on its data, the API
   * server with its certificates, the controllers and kwok; nothing is deleted. An API server whose
   * port was taken meanwhile moves to a free one (the kubeconfig follows, and the functions are
   * restarted against it through StackContext.endpoints). Throws WouldLoseDataError when the
   * cluster cannot be brought back, so `up` never replaces it with an empty one.
   */
  async repair(state, ctx) {
    const dir = clusterDir(state);
    if (!existsSync(join(dir, kwokConfigName))) {
      if (existsSync(join(dir, 'etcd'))) {
        throw new WouldLoseDataError(
          `kubernetes: ${join(dir, kwokConfigName)} is missing but the cluster's etcd data is there; ` +
            'nothing was deleted. To start over with an empty cluster: switchyard dev down, then switchyard dev up',
        );
      }
      throw new Error(`the cluster's folder ${dir} is gone`);
    }
    try {
      return await restartControlPlane(state, ctx);
    } catch (err) {
      throw new WouldLoseDataError(
        `kubernetes: the control plane could not be restarted on its etcd data: ${(err as Error).message} ` +
          `(component logs: ${state.logDir}). Nothing was deleted: fix the cause and run switchyard dev up ` +
          'again, or start over with an empty cluster: switchyard dev down, then switchyard dev up',
      );
    }
  },

  async check(state): Promise<PartStatus> {
    try {
      if (!existsSync(state.kubeconfig)) return { state: 'stopped', detail: 'no kubeconfig' };
      const components = componentStates(state);
      const dead = components.filter((c) => !c.alive).map((c) => c.name);
      if (components.length > 0 && dead.length === components.length) {
        return { state: 'stopped', detail: 'no cluster process is running' };
      }
      if (dead.length > 0) return { state: 'failed', detail: `not running: ${dead.join(', ')}` };
      if (await apiReady(kubeConfigFrom(state.kubeconfig))) return { state: 'running' };
      return components.length === 0 && clusterProcesses(clusterDir(state)).length === 0
        ? { state: 'stopped', detail: 'no cluster process is running' }
        : { state: 'failed', detail: `${state.apiServer}/readyz does not answer (logs: ${state.logDir})` };
    } catch (err) {
      return { state: 'failed', detail: (err as Error).message };
    }
  },
};
