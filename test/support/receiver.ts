// A local HTTP receiver that records JSON POSTs, for tests that check what was sent to them. It can
// also play a broken endpoint: answer every request with an error status, or never answer at all.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../../infra/local/process.ts';

export interface Receiver {
  url: string;
  /** Bodies of the requests received, parsed as JSON. */
  received: unknown[];
  /** Every request with its headers (also those answered with an error or left hanging). */
  requests: { headers: IncomingHttpHeaders; body: unknown }[];
  /** Waits until `predicate` holds for the received bodies (deadline in ms). */
  until(predicate: (received: unknown[]) => boolean, timeoutMs: number, what: string): Promise<void>;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  host?: string;
  /** 'ok' (204, default), an HTTP status to answer with, or 'hang' (never answer). */
  answer?: 'ok' | number | 'hang';
}

export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const host = options.host ?? '127.0.0.1';
  const answer = options.answer ?? 'ok';
  const received: unknown[] = [];
  const requests: Receiver['requests'] = [];
  const hanging: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      requests.push({ headers: req.headers, body });
      if (answer === 'hang') {
        hanging.push(res);
        return;
      }
      if (answer !== 'ok') {
        res.writeHead(answer).end();
        return;
      }
      received.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/`,
    received,
    requests,
    async until(predicate, timeoutMs, what) {
      await waitFor(() => predicate(received), { timeoutMs, what });
    },
    close: () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
