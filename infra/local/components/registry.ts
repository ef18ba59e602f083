// A real container registry in the local stack (issue 11): Debian's `docker-registry` (the CNCF
// distribution server, 2.8), storing on the filesystem in the stack's folder, on a free loopback
// port, with its webhook notifications going to a small bridge (infra/local/registry-bridge.ts)
// that publishes each manifest push on `gcr` in Artifact Registry's format. The functions reach it
// as `us-docker.pkg.dev` (SWITCHYARD_REGISTRY_ENDPOINTS, registryEnv below), so images keep their
// Artifact Registry names and a push to it releases as a push to Artifact Registry would.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { endpointsVariable } from '../../../shared/registry/trust.ts';
import { freePort, httpReady, isAlive, startProcess, stopProcessGroup, waitFor } from '../process.ts';
import type { Part, PartStatus, ServerState } from './part.ts';

const run = promisify(execFile);
const bridgeScript = join(import.meta.dirname, '..', 'registry-bridge.ts');

/** The Artifact Registry host the local registry stands in for. */
export const localRegistryHost = 'us-docker.pkg.dev';

export interface RegistryState extends ServerState {
  dir: string;
  bridge: ServerState;
}

function config(dir: string, port: number, bridgePort: number): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
    'notifications:',
    '  endpoints:',
    '    - name: switchyard-gcr-bridge',
    `      url: http://127.0.0.1:${bridgePort}/events`,
    '      timeout: 2s',
    '      threshold: 3',
    '      backoff: 200ms',
    '      ignoredmediatypes:',
    '        - application/octet-stream',
    '      ignore:',
    '        actions:',
    '          - pull',
    '',
  ].join('\n');
}

async function requireBinary(): Promise<void> {
  try {
    await run('docker-registry', ['--version']);
  } catch {
    throw new Error(
      "docker-registry is missing: install Debian's docker-registry package (apt-get install -y docker-registry), or run scripts/setup.sh",
    );
  }
}

async function waitServing(pid: number, url: string, what: string, logFile: string): Promise<void> {
  const outcome = await waitFor(
    async () => {
      if (!isAlive(pid)) return 'exited';
      return (await httpReady(url, (s) => s === 200)) ? 'ready' : undefined;
    },
    { timeoutMs: 30_000, what: `${what} (log: ${logFile})` },
  );
  if (outcome === 'exited') throw new Error(`${what} exited while starting (log: ${logFile})`);
}

export const registryPart: Part<RegistryState> = {
  name: 'registry',
  async start(ctx) {
    await requireBinary();
    const dir = join(ctx.stateDir, 'registry');
    mkdirSync(join(dir, 'data'), { recursive: true });
    const bridgePort = await freePort(ctx.preferredPorts['registry-bridge']);
    const bridgeLog = join(ctx.stateDir, 'logs', 'registry-bridge.log');
    const bridgePid = startProcess({
      command: process.execPath,
      args: [bridgeScript, ctx.stateDir, dir, String(bridgePort), localRegistryHost],
      logFile: bridgeLog,
    });
    const bridge: ServerState = { pid: bridgePid, host: `127.0.0.1:${bridgePort}`, logFile: bridgeLog };
    let registryPid: number | undefined;
    try {
      await waitServing(bridgePid, `http://${bridge.host}/healthz`, 'the registry bridge', bridgeLog);
      const port = await freePort(ctx.preferredPorts.registry);
      const configFile = join(dir, 'config.yml');
      writeFileSync(configFile, config(dir, port, bridgePort));
      const logFile = join(ctx.stateDir, 'logs', 'registry.log');
      registryPid = startProcess({ command: 'docker-registry', args: ['serve', configFile], logFile });
      const host = `127.0.0.1:${port}`;
      await waitServing(registryPid, `http://${host}/v2/`, `the registry on ${host}`, logFile);
      return { pid: registryPid, host, logFile, dir, bridge };
    } catch (err) {
      await stopProcessGroup(registryPid);
      await stopProcessGroup(bridgePid);
      throw err;
    }
  },
  async stop(state) {
    await stopProcessGroup(state.pid);
    await stopProcessGroup(state.bridge.pid);
  },
  endpoint: (state) => state.host,
  async check(state): Promise<PartStatus> {
    if (!isAlive(state.pid)) return { state: 'stopped', detail: 'the registry process is gone' };
    if (!isAlive(state.bridge.pid)) return { state: 'failed', detail: 'the registry bridge is gone' };
    if (!(await httpReady(`http://${state.host}/v2/`, (s) => s === 200))) {
      return { state: 'failed', detail: `no answer on http://${state.host}/v2/` };
    }
    return (await httpReady(`http://${state.bridge.host}/healthz`, (s) => s === 200))
      ? { state: 'running' }
      : { state: 'failed', detail: `the bridge does not answer on ${state.bridge.host}` };
  },
};

/** The registry's URL as the functions' config names it: the host Artifact Registry images name, mapped. */
export function registryEnv(url: string): Record<string, string> {
  return { [endpointsVariable]: `${localRegistryHost}=${url}` };
}
