// A local HTTP receiver that records JSON POSTs, for tests that check what was sent to them.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../../infra/local/process.ts';

export interface Receiver {
  url: string;
  received: unknown[];
  /** Waits until `predicate` holds for the received bodies (deadline in ms). */
  until(predicate: (received: unknown[]) => boolean, timeoutMs: number, what: string): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(host = '127.0.0.1'): Promise<Receiver> {
  const received: unknown[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(204).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/`,
    received,
    async until(predicate, timeoutMs, what) {
      await waitFor(() => predicate(received), { timeoutMs, what });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
