// The local ID-token issuer as a part of the stack (infra/local/issuer.ts): started in the first
// wave, its keys kept in <stateDir>/issuer so a restart on the same folder keeps them.
import { join } from 'node:path';
import { freePort, httpReady, isAlive, startProcess, stopProcessGroup, waitFor } from '../process.ts';
import type { Part, PartStatus, ServerState } from './part.ts';

const script = join(import.meta.dirname, '..', 'issuer.ts');

export const issuerPart: Part<ServerState> = {
  name: 'issuer',
  async start(ctx) {
    const port = await freePort(ctx.preferredPorts.issuer);
    const logFile = join(ctx.stateDir, 'logs', 'issuer.log');
    const pid = startProcess({
      command: process.execPath,
      args: [script, join(ctx.stateDir, 'issuer'), String(port)],
      logFile,
    });
    const state: ServerState = { pid, host: `127.0.0.1:${port}`, logFile };
    try {
      const outcome = await waitFor(
        async () => {
          if (!isAlive(pid)) return 'exited';
          return (await httpReady(`http://${state.host}/certs`, (s) => s === 200)) ? 'ready' : undefined;
        },
        { timeoutMs: 30_000, what: `the local ID-token issuer on ${state.host} (log: ${logFile})` },
      );
      if (outcome === 'exited') throw new Error(`the issuer exited while starting (log: ${logFile})`);
    } catch (err) {
      await stopProcessGroup(pid);
      throw err;
    }
    return state;
  },
  async stop(state) {
    await stopProcessGroup(state.pid);
  },
  endpoint: (state) => state.host,
  async check(state): Promise<PartStatus> {
    if (!isAlive(state.pid)) return { state: 'stopped', detail: 'process is gone' };
    return (await httpReady(`http://${state.host}/certs`, (s) => s === 200))
      ? { state: 'running' }
      : { state: 'failed', detail: `no answer on http://${state.host}/certs` };
  },
};

/** The issuer's URLs as the functions' and the CLI's config name them (stackEnv). */
export function issuerEnv(host: string): Record<string, string> {
  const url = `http://${host}`;
  return {
    SWITCHYARD_ID_ISSUER: url,
    SWITCHYARD_ID_CERTS_URL: `${url}/certs`,
    SWITCHYARD_LOCAL_TOKEN_URL: `${url}/token`,
  };
}
