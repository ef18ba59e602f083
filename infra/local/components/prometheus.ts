// Prometheus from Debian for analysis tests and the demo.
// Exact series are loaded by backfill (promtool tsdb create-blocks-from openmetrics) followed by a
// restart on the same port, because Prometheus only picks up new blocks on its minute-long reload
// loop. Local /metrics endpoints are scraped every second through file-based service discovery.
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, httpReady, isAlive, startProcess, stopProcessGroup, waitFor } from '../process.ts';
import type { Part, PartStatus, ServerState, StackContext } from './part.ts';

const run = promisify(execFile);

export interface PrometheusState extends ServerState {
  dataDir: string;
  targetsDir: string;
  configFile: string;
}

async function requireBinary(name: string): Promise<void> {
  try {
    await run(name, ['--version']);
  } catch {
    throw new Error(
      `${name} is missing: install Debian's prometheus package (apt-get install -y prometheus)`,
    );
  }
}

function config(targetsDir: string): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: local',
    '    file_sd_configs:',
    `      - files: ['${targetsDir}/*.json']`,
    '        refresh_interval: 1s',
    '',
  ].join('\n');
}

function launch(state: Omit<PrometheusState, 'pid'>): number {
  return startProcess({
    command: 'prometheus',
    args: [
      `--config.file=${state.configFile}`,
      `--storage.tsdb.path=${state.dataDir}`,
      '--storage.tsdb.retention.time=10y',
      `--web.listen-address=${state.host}`,
      '--web.enable-lifecycle',
      '--log.level=warn',
    ],
    logFile: state.logFile,
  });
}

async function waitReady(state: PrometheusState): Promise<void> {
  await waitFor(() => httpReady(`http://${state.host}/-/ready`, (s) => s === 200), {
    timeoutMs: 30_000,
    what: `Prometheus on ${state.host} (log: ${state.logFile})`,
  });
}

/** Starts a Prometheus server in `dir` on a free loopback port (also used for tests' own servers). */
export async function startPrometheus(dir: string, preferredPort?: number): Promise<PrometheusState> {
  await requireBinary('prometheus');
  const dataDir = join(dir, 'data');
  const targetsDir = join(dir, 'targets');
  const configFile = join(dir, 'prometheus.yml');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(targetsDir, { recursive: true });
  writeFileSync(configFile, config(targetsDir));
  const base = {
    host: `127.0.0.1:${await freePort(preferredPort)}`,
    logFile: join(dir, 'prometheus.log'),
    dataDir,
    targetsDir,
    configFile,
  };
  const state: PrometheusState = { ...base, pid: launch(base) };
  try {
    await waitReady(state);
  } catch (err) {
    await stopProcessGroup(state.pid);
    throw err;
  }
  return state;
}

/**
 * Loads exact samples, given as OpenMetrics text (timestamps in seconds; `# EOF` is added when
 * missing), into the server's storage and restarts it on the same port. Returns the new state (the
 * pid changes). Samples may lie anywhere in time, also near now: Prometheus >= 2.39 accepts blocks
 * that overlap its head block.
 */
export async function backfill(state: PrometheusState, openMetrics: string): Promise<PrometheusState> {
  await requireBinary('promtool');
  const text = openMetrics.trimEnd().endsWith('# EOF')
    ? `${openMetrics.trimEnd()}\n`
    : `${openMetrics.trimEnd()}\n# EOF\n`;
  const input = join(state.dataDir, '..', `backfill-${Date.now()}.om`);
  writeFileSync(input, text);
  try {
    await stopProcessGroup(state.pid);
    await run('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', input, state.dataDir]);
  } finally {
    rmSync(input, { force: true });
  }
  const next: PrometheusState = { ...state, pid: launch(state) };
  await waitReady(next);
  return next;
}

/** Adds (or replaces) a scrape target; Prometheus notices within a second. Idempotent per name. */
export function addScrapeTarget(
  state: PrometheusState,
  name: string,
  hostPort: string,
  labels: Record<string, string> = {},
): void {
  writeFileSync(join(state.targetsDir, `${name}.json`), JSON.stringify([{ targets: [hostPort], labels }]));
}

export function removeScrapeTarget(state: PrometheusState, name: string): void {
  rmSync(join(state.targetsDir, `${name}.json`), { force: true });
}

export const prometheusPart: Part<PrometheusState> = {
  name: 'prometheus',
  start: (ctx: StackContext) =>
    startPrometheus(join(ctx.stateDir, 'prometheus'), ctx.preferredPorts.prometheus),
  async stop(state) {
    await stopProcessGroup(state.pid);
  },
  endpoint: (state) => state.host,
  async check(state): Promise<PartStatus> {
    if (!isAlive(state.pid)) return { state: 'stopped', detail: 'process is gone' };
    return (await httpReady(`http://${state.host}/-/ready`, (s) => s === 200))
      ? { state: 'running' }
      : { state: 'failed', detail: `not ready on http://${state.host}` };
  },
};
