// The local stack: Google's Firestore and Pub/Sub emulators, a Kubernetes control plane with kwok
// nodes, Prometheus, and the functions in functions-framework processes. `up` is idempotent and
// heals the stack: a part that does not answer or lacks what it should hold is repaired from its
// recorded state (see README.md), and started from nothing only when that fails and loses no data;
// `down` stops every process it started. State lives in one JSON file in the stack's folder.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { topology } from '../../shared/topology.ts';
import { firestorePart, pubsubPart } from './components/emulators.ts';
import { type FunctionsConfig, type FunctionsState, functionsPart } from './components/functions.ts';
import { issuerEnv, issuerPart } from './components/issuer.ts';
import { type KubeState, kubernetesPart } from './components/kubernetes.ts';
import {
  type Part,
  type PartStatus,
  type ServerState,
  type StackContext,
  WouldLoseDataError,
} from './components/part.ts';
import { backfill, type PrometheusState, prometheusPart } from './components/prometheus.ts';
import { type RegistryState, registryEnv, registryPart } from './components/registry.ts';
import { stackEnv } from './env.ts';
import { defaultStateDir, repoRoot } from './paths.ts';
import { portFreed, withLock } from './process.ts';
import { localInstallationEnv, switchyardFunctions } from './switchyard.ts';

export { defaultStateDir, repoRoot, stackEnv };

/** The emulator ports that firebase.json declares, which the default stack takes when free. */
export function firebasePorts(): Partial<Record<string, number>> {
  const config = JSON.parse(readFileSync(join(repoRoot, 'firebase.json'), 'utf8')) as {
    emulators?: Record<string, { port?: number }>;
  };
  const ports: Partial<Record<string, number>> = {};
  for (const name of ['firestore', 'pubsub']) {
    const port = config.emulators?.[name]?.port;
    if (port) ports[name] = port;
  }
  return ports;
}

/** Switchyard's functions with a scheduler tick every minute, as deployed (env can speed it up). */
export function switchyardStack(overrides: Partial<FunctionsConfig> = {}): FunctionsConfig {
  return {
    functions: switchyardFunctions(),
    sweepTopic: topology().sweepTopic,
    sweepSeconds: Number(process.env.SWITCHYARD_SWEEP_SECONDS ?? 60),
    ...overrides,
    // The local installation's operators: the accounts of the local issuer's dev domain.
    env: { SWITCHYARD_OPERATORS: localOperators, ...overrides.env },
  };
}

/** Who may run every control command on a local target without spec.access (`switchyard dev`). */
export const localOperators = 'domain:switchyard.local';

interface PartStates {
  firestore?: ServerState;
  pubsub?: ServerState;
  kubernetes?: KubeState;
  prometheus?: PrometheusState;
  issuer?: ServerState;
  registry?: RegistryState;
  functions?: FunctionsState;
}
type PartName = keyof PartStates;

interface StackFile {
  projectId: string;
  parts: PartStates;
}

export interface StackOptions {
  stateDir?: string;
  projectId?: string;
  log?: (message: string) => void;
  /** Ports to prefer per part when free, e.g. firebasePorts() for the default stack. */
  preferredPorts?: Partial<Record<string, number>>;
  /** Only these parts (default: all); e.g. a small stack for testing the stack itself. */
  only?: PartName[];
  /** The functions to host; Switchyard's own by default. */
  functions?: () => Promise<FunctionsConfig>;
}

export interface StackStatus {
  projectId: string;
  stateDir: string;
  firestoreEmulatorHost: string | null;
  pubsubEmulatorHost: string | null;
  kubeconfig: string | null;
  prometheusUrl: string | null;
  /** The local ID-token issuer (its JWKS at /certs, a dev token endpoint at /token). */
  issuerUrl: string | null;
  /** The stack's container registry (Docker Registry v2 API), which the functions know as us-docker.pkg.dev. */
  registryUrl: string | null;
  /** Folder of the Kubernetes binaries the stack runs, kubectl among them. */
  kubeBinDir: string | null;
  /**
   * Where the functions reach Slack's Web API (SWITCHYARD_SLACK_API_URL): a loopback address the
   * stack only reserves; a test standing in for Slack listens there (infra/local/switchyard.ts).
   */
  slackApiUrl: string | null;
  functions: { name: string; url: string; subscriptions: string[] }[];
  parts: Record<PartName, PartStatus>;
}

const firstWave = ['firestore', 'pubsub', 'kubernetes', 'prometheus', 'issuer', 'registry'] as const;
const order: PartName[] = [...firstWave, 'functions'];

export class LocalStack {
  readonly stateDir: string;
  private readonly projectIdWanted: string;
  private readonly log: (message: string) => void;
  private readonly preferredPorts: Partial<Record<string, number>>;
  private readonly parts: { [K in PartName]: Part<NonNullable<PartStates[K]>> };
  private readonly only: ReadonlySet<PartName>;

  constructor(opts: StackOptions = {}) {
    this.stateDir = resolve(opts.stateDir ?? defaultStateDir());
    this.projectIdWanted = opts.projectId ?? 'switchyard-local';
    this.log = opts.log ?? ((m) => process.stderr.write(`${m}\n`));
    this.preferredPorts = opts.preferredPorts ?? {};
    this.only = new Set(opts.only ?? order);
    this.parts = {
      firestore: firestorePart,
      pubsub: pubsubPart,
      kubernetes: kubernetesPart,
      prometheus: prometheusPart,
      issuer: issuerPart,
      registry: registryPart,
      functions: functionsPart(opts.functions ?? (async () => switchyardStack()), localInstallationEnv),
    };
  }

  private get file(): string {
    return join(this.stateDir, 'stack.json');
  }

  private read(): StackFile {
    if (!existsSync(this.file)) return { projectId: this.projectIdWanted, parts: {} };
    return JSON.parse(readFileSync(this.file, 'utf8')) as StackFile;
  }

  private write(state: StackFile): void {
    mkdirSync(this.stateDir, { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(tmp, this.file);
  }

  private context(file: StackFile, preferredPorts = this.preferredPorts): StackContext {
    const endpoints: Record<string, string> = {};
    for (const name of order) {
      const state = file.parts[name];
      const part = this.parts[name] as Part<NonNullable<typeof state>>;
      if (state && part.endpoint) endpoints[name] = part.endpoint(state);
    }
    return {
      stateDir: this.stateDir,
      projectId: file.projectId,
      log: this.log,
      env: envOf(file),
      preferredPorts,
      endpoints,
    };
  }

  /**
   * The lock of everything that changes the stack: up, down and Prometheus backfills (which
   * restart Prometheus). Another process's `dev up` must not see a restarting part as dead.
   */
  get lockFile(): string {
    return join(this.stateDir, 'stack.lock');
  }

  /**
   * Brings every part up. Each part is checked (does it answer and hold what it should); a part that
   * is running is kept, one that is not is repaired from its recorded state (a dead process started
   * again on its data and port, lost subscriptions recreated, dependents restarted against parts
   * that moved), and only when that fails cleaned up and started from nothing, unless that would
   * destroy data (WouldLoseDataError), which fails `up` instead.
   */
  async up(): Promise<StackStatus> {
    // The stack's own clients talk only to emulators: no Google metadata server to look for.
    process.env.METADATA_SERVER_DETECTION ??= 'none';
    mkdirSync(this.stateDir, { recursive: true });
    return withLock(this.lockFile, () => this.upLocked());
  }

  private async upLocked(): Promise<StackStatus> {
    const file = this.read();
    const startedNow: PartName[] = [];
    // Parts found running keep that status for the answer; only repaired or started ones are asked again.
    const found: Partial<Record<PartName, PartStatus>> = {};
    const ensure = async <K extends PartName>(
      name: K,
      checked?: Promise<PartStatus | undefined>,
    ): Promise<void> => {
      if (!this.only.has(name)) return;
      const part = this.parts[name] as Part<NonNullable<PartStates[K]>>;
      const previous = file.parts[name] as NonNullable<PartStates[K]> | undefined;
      // A part started again takes its old port when it is free, so clients keep reaching it.
      let ports = this.preferredPorts;
      if (previous) {
        const oldPort = Number((previous as { host?: string }).host?.split(':')[1]);
        if (oldPort) ports = { ...ports, [name]: oldPort };
        // The context is read now: the functions are checked against the parts as the first wave left them.
        const status = (await checked) ?? (await part.check(previous, this.context(file)));
        if (status.state === 'running') {
          found[name] = status;
          return;
        }
        if (part.repair) {
          const t0 = Date.now();
          this.log(`${name}: ${status.state}${status.detail ? ` (${status.detail})` : ''}; repairing`);
          try {
            file.parts[name] = (await part.repair(previous, this.context(file))) as PartStates[K];
            this.write(file);
            this.log(`${name}: repaired (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
            return;
          } catch (err) {
            if (err instanceof WouldLoseDataError) throw err;
            this.log(`${name}: repair failed (${err instanceof Error ? err.message : String(err)})`);
          }
        }
        this.log(
          `${name}: ${status.state}${status.detail ? ` (${status.detail})` : ''}; cleaning up and starting again`,
        );
        await part.stop(previous, this.context(file));
        delete file.parts[name];
        this.write(file);
      }
      // A server killed a moment ago may hold its old port until its threads have exited.
      const samePort = previous ? ports[name] : undefined;
      if (samePort) await portFreed(samePort, 5000);
      this.log(`${name}: starting`);
      const t0 = Date.now();
      const state = await part.start(this.context(file, ports));
      file.parts[name] = state as PartStates[K];
      startedNow.push(name);
      this.write(file);
      this.log(`${name}: running (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    };
    // On a healthy stack the first wave changes nothing the functions depend on: their check runs
    // alongside it, and counts only if every part of the first wave was found running.
    const early =
      this.only.has('functions') && file.parts.functions
        ? this.parts.functions.check(file.parts.functions, this.context(file)).catch(() => undefined)
        : undefined;
    try {
      const results = await Promise.allSettled(firstWave.map((name) => ensure(name)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      const unchanged = firstWave.every((name) => !this.only.has(name) || found[name]);
      // After the first wave: the functions' check sees parts that moved (StackContext.endpoints)
      // and a topology a restarted emulator lost, and their repair restarts or recreates them.
      await ensure('functions', unchanged ? early : undefined);
    } catch (err) {
      for (const name of [...startedNow].reverse()) await this.stopPart(file, name);
      this.write(file);
      throw err;
    }
    return this.statusLocked(found);
  }

  /** Stops every part and removes the state file. Idempotent. */
  async down(): Promise<void> {
    if (!existsSync(this.stateDir)) return;
    await withLock(this.lockFile, () => this.downLocked());
  }

  private async downLocked(): Promise<void> {
    const file = this.read();
    for (const name of [...order].reverse()) {
      if (file.parts[name]) this.log(`${name}: stopping`);
      await this.stopPart(file, name);
      this.write(file);
    }
    rmSync(this.file, { force: true });
  }

  private async stopPart(file: StackFile, name: PartName): Promise<void> {
    const state = file.parts[name];
    if (!state) return;
    const part = this.parts[name] as Part<typeof state>;
    await part.stop(state, this.context(file));
    delete file.parts[name];
  }

  /**
   * What is running and how to reach it, read under the stack's lock: a part that another process
   * is changing (an `up`, or a backfill restarting Prometheus) is reported once the change is done,
   * never as down in the middle of it.
   */
  async status(): Promise<StackStatus> {
    if (!existsSync(this.stateDir)) return this.statusLocked();
    return withLock(this.lockFile, () => this.statusLocked());
  }

  /** `known`: statuses just checked, not asked again. */
  private async statusLocked(known: Partial<Record<PartName, PartStatus>> = {}): Promise<StackStatus> {
    const file = this.read();
    const ctx = this.context(file);
    const parts = {} as Record<PartName, PartStatus>;
    await Promise.all(
      order
        .filter((name) => this.only.has(name))
        .map(async (name) => {
          const state = file.parts[name];
          const part = this.parts[name] as Part<NonNullable<typeof state>>;
          parts[name] = known[name] ?? (state ? await part.check(state, ctx) : { state: 'stopped' });
        }),
    );
    return {
      ...endpointsOf(file),
      kubeBinDir: file.parts.kubernetes?.binDir ?? null,
      slackApiUrl: file.parts.functions?.ownEnv?.SWITCHYARD_SLACK_API_URL ?? null,
      stateDir: this.stateDir,
      functions: (file.parts.functions?.functions ?? []).map((f) => ({
        name: f.name,
        url: `http://${f.host}`,
        subscriptions: f.subscriptions,
      })),
      parts,
    };
  }

  /** The Prometheus part's state, for scrape targets. */
  prometheus(): PrometheusState {
    const state = this.read().parts.prometheus;
    if (!state) throw new Error('Prometheus is not running: run `switchyard dev up`');
    return state;
  }

  /**
   * Loads exact series (OpenMetrics text with timestamps) into the stack's Prometheus. Prometheus
   * restarts on the same port to pick them up, so callers are serialised by the stack's lock.
   */
  async backfillPrometheus(openMetrics: string): Promise<void> {
    await withLock(this.lockFile, async () => {
      const file = this.read();
      if (!file.parts.prometheus) throw new Error('Prometheus is not running: run `switchyard dev up`');
      file.parts.prometheus = await backfill(file.parts.prometheus, openMetrics);
      this.write(file);
    });
  }
}

type Endpoints = Pick<
  StackStatus,
  | 'projectId'
  | 'firestoreEmulatorHost'
  | 'pubsubEmulatorHost'
  | 'kubeconfig'
  | 'prometheusUrl'
  | 'issuerUrl'
  | 'registryUrl'
>;

function endpointsOf(file: StackFile): Endpoints {
  const p = file.parts;
  return {
    projectId: file.projectId,
    firestoreEmulatorHost: p.firestore?.host ?? null,
    pubsubEmulatorHost: p.pubsub?.host ?? null,
    kubeconfig: p.kubernetes?.kubeconfig ?? null,
    prometheusUrl: p.prometheus ? `http://${p.prometheus.host}` : null,
    issuerUrl: p.issuer ? `http://${p.issuer.host}` : null,
    registryUrl: p.registry ? `http://${p.registry.host}` : null,
  };
}

function envOf(file: StackFile): Record<string, string> {
  return stackEnv(endpointsOf(file));
}
