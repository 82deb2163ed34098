import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the purpose-built server saw it, with the server-side arrival time; `body` is complete once it is answered. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** Answers request number `index` (0-based); may also leave it hanging or destroy the socket. */
export type Responder = (request: SeenRequest, response: ServerResponse, index: number) => void;

export interface FakeVault {
  url: string;
  requests: SeenRequest[];
  /** Resolves once the server has seen at least `count` requests. */
  waitForRequests(count: number): Promise<void>;
  close(): Promise<void>;
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

export function mixpeekError(response: ServerResponse, status: number, type: string, headers: Record<string, string> = {}): void {
  sendJson(response, status, { success: false, status, error: { message: `${type} happened`, type, details: {} } }, headers);
}

export async function startFakeVault(respond: Responder): Promise<FakeVault> {
  const requests: SeenRequest[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const server = createServer((req, res) => {
    // Recorded on arrival, body filled in at the end: a client that gives up while the server is still
    // reading (a stall on a loaded machine) has still made the request.
    const seen: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '', at: Date.now() };
    const index = requests.length;
    requests.push(seen);
    for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.body = Buffer.concat(chunks).toString('utf8');
      respond(seen, res, index);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    waitForRequests(count: number): Promise<void> {
      if (requests.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close(): Promise<void> {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
