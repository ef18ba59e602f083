// A throwaway HTTP host on a non-loopback address, for tests that need the API server to proxy to
// something (it refuses loopback and link-local targets): a network namespace joined to the host by
// a veth pair on a private /30, with a tiny Node HTTP server running inside the namespace.
// Needs root (CAP_NET_ADMIN) and iproute2. Every resource name carries a random id, so parallel test
// files and parallel runs do not collide; `close()` removes all of it.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { httpReady, waitFor } from '../../infra/local/process.ts';

const run = promisify(execFile);

/** A fixed answer for one path. */
export interface Route {
  status: number;
  body: string;
  contentType?: string;
}

export interface NetnsHost {
  /** Address of the server inside the namespace (the /30's second address). */
  address: string;
  /** Address of the host's end of the veth pair (the /30's first address). */
  hostAddress: string;
  port: number;
  /** `http://address:port<path>`. */
  url(path: string): string;
  /** Stops the server and deletes the namespace and the veth pair; idempotent. */
  close(): Promise<void>;
}

export interface NetnsHostOptions {
  /** Fixed answers by request path (query ignored). Unknown paths get 404; `/echo` answers with the request. */
  routes: Record<string, Route>;
  /** Port inside the namespace (default 8080; the namespace is private, so any port is free). */
  port?: number;
  /** How long to wait for the server to answer from the host (default 15 s). */
  readyTimeoutMs?: number;
}

// Runs inside the namespace under `ip netns exec`. CommonJS so that `node -e` needs no flags.
// `/echo` answers with what it received, so a test can check method, headers and body on the wire.
const serverScript = `
const http = require('node:http');
const routes = JSON.parse(process.env.SY_ROUTES);
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const path = req.url.split('?')[0];
    if (path === '/echo') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }));
      return;
    }
    const route = routes[path];
    if (!route) { res.writeHead(404, { 'content-type': 'text/plain' }); res.end('not found'); return; }
    res.writeHead(route.status, { 'content-type': route.contentType || 'application/json' });
    res.end(route.body);
  });
});
server.listen(Number(process.env.SY_PORT), process.env.SY_ADDRESS, () => console.log('listening'));
process.on('SIGTERM', () => process.exit(0));
`;

/** Addresses already configured on this host, to avoid picking a /30 that overlaps one. */
async function usedAddresses(): Promise<string> {
  const { stdout } = await run('ip', ['-o', '-4', 'addr', 'show']);
  return stdout;
}

/** A /30 in 10.123.0.0/16 not on any local interface: [host side, namespace side]. */
async function pickSubnet(): Promise<[string, string]> {
  const used = await usedAddresses();
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const third = randomInt(0, 256);
    const base = randomInt(0, 64) * 4;
    const host = `10.123.${third}.${base + 1}`;
    const peer = `10.123.${third}.${base + 2}`;
    if (!used.includes(` ${host}/`) && !used.includes(` ${peer}/`)) return [host, peer];
  }
  throw new Error('no free /30 in 10.123.0.0/16');
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/**
 * Creates the namespace, the veth pair and the server, and resolves once the server answers from
 * the host (within `readyTimeoutMs`). On any failure it removes what it created before rethrowing.
 */
export async function startNetnsHost(opts: NetnsHostOptions): Promise<NetnsHost> {
  const id = randomBytes(3).toString('hex');
  const netns = `sy-${id}`;
  // Interface names are limited to 15 characters: "sy" + 6 hex + "a"/"b".
  const hostLink = `sy${id}a`;
  const peerLink = `sy${id}b`;
  const port = opts.port ?? 8080;
  const [hostAddress, address] = await pickSubnet();
  let server: ChildProcess | undefined;
  let output = '';

  const close = async (): Promise<void> => {
    const problems: string[] = [];
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise<void>((resolve) => server!.once('exit', () => resolve()));
      server.kill('SIGTERM');
      const timer = setTimeout(() => server?.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    // Deleting one end of a veth pair deletes both; deleting the namespace would too, but the host
    // end is removed explicitly so nothing is left even if the namespace deletion fails.
    for (const args of [
      ['link', 'del', hostLink],
      ['netns', 'del', netns],
    ]) {
      try {
        await ip(...args);
      } catch (err) {
        const message = (err as Error).message;
        if (!/Cannot find device|No such file|does not exist/i.test(message)) problems.push(message);
      }
    }
    if (problems.length > 0) throw new Error(`netns host ${netns} teardown: ${problems.join('; ')}`);
  };

  try {
    await ip('netns', 'add', netns);
    await ip('link', 'add', hostLink, 'type', 'veth', 'peer', 'name', peerLink);
    await ip('link', 'set', peerLink, 'netns', netns);
    await ip('addr', 'add', `${hostAddress}/30`, 'dev', hostLink);
    await ip('link', 'set', hostLink, 'up');
    await ip('netns', 'exec', netns, 'ip', 'addr', 'add', `${address}/30`, 'dev', peerLink);
    await ip('netns', 'exec', netns, 'ip', 'link', 'set', peerLink, 'up');
    await ip('netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up');

    // `ip netns exec` execs the command, so the child's pid is the server's own.
    server = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', serverScript], {
      env: {
        ...process.env,
        SY_ROUTES: JSON.stringify(opts.routes),
        SY_PORT: String(port),
        SY_ADDRESS: address,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-2000);
    };
    server.stdout?.on('data', collect);
    server.stderr?.on('data', collect);

    const url = (path: string) => `http://${address}:${port}${path}`;
    // A server that dies at start (port taken, bad script) fails the wait at once, not at the deadline.
    const died = new Promise<never>((_, reject) => {
      server!.once('exit', (code, signal) => reject(new Error(`server exited early (${code ?? signal})`)));
    });
    died.catch(() => {}); // it also "dies" at close(), when nobody is waiting any more
    await Promise.race([
      died,
      waitFor(() => httpReady(url('/'), () => true), {
        timeoutMs: opts.readyTimeoutMs ?? 15_000,
        what: `HTTP server in netns ${netns} at ${url('/')}`,
      }),
    ]);
    return { address, hostAddress, port, url, close };
  } catch (err) {
    await close().catch(() => {});
    throw new Error(`${(err as Error).message}${output ? `; server output: ${output}` : ''}`);
  }
}
