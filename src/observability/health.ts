/**
 * The probe and scrape endpoint: /metrics, /healthz (the process answers),
 * /readyz (every named check passes, e.g. "caches synced" and "leader or
 * standby ready"). Answers in the kube-apiserver style: "ok", or with
 * `?verbose` one `[+]name ok` / `[-]name failed` line per check.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './log.js';
import { silentLogger } from './log.js';

/** A named readiness or liveness check; it must be cheap and synchronous. */
export type Check = () => boolean;

export interface MetricsSource {
  readonly contentType: string;
  text(): Promise<string>;
}

export interface HealthServerOptions {
  /** Default "0.0.0.0" (probes come from the kubelet, scrapes from Prometheus). */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  metrics?: MetricsSource;
  /** All must pass for /readyz to answer 200. No checks means ready. */
  readiness?: Record<string, Check>;
  /** All must pass for /healthz to answer 200; default none (the process answering is the check). */
  liveness?: Record<string, Check>;
  logger?: Logger;
}

export interface HealthServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export class HealthServerError extends Error {
  override readonly name = 'HealthServerError';
  constructor(
    readonly kind: 'ListenFailed',
    message: string,
  ) {
    super(message);
  }
}

function runChecks(checks: Record<string, Check> | undefined): { ok: boolean; lines: string[] } {
  const lines: string[] = [];
  let ok = true;
  for (const [name, check] of Object.entries(checks ?? {})) {
    let passed = false;
    try {
      passed = check();
    } catch {
      passed = false;
    }
    ok &&= passed;
    lines.push(passed ? `[+]${name} ok` : `[-]${name} failed`);
  }
  return { ok, lines };
}

export async function startHealthServer(options: HealthServerOptions = {}): Promise<HealthServer> {
  const log = (options.logger ?? silentLogger()).child({ component: 'health' });
  const host = options.host ?? '0.0.0.0';

  const answerChecks = (req: IncomingMessage, res: ServerResponse, url: URL, checks: Record<string, Check> | undefined): void => {
    const { ok, lines } = runChecks(checks);
    const verbose = url.searchParams.has('verbose') || !ok;
    const body = verbose ? [...lines, ok ? `${url.pathname.slice(1)} check passed` : `${url.pathname.slice(1)} check failed`].join('\n') + '\n' : 'ok';
    send(req, res, ok ? 200 : 503, 'text/plain; charset=utf-8', body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://probe');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(req, res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    switch (url.pathname) {
      case '/healthz':
      case '/livez':
        return answerChecks(req, res, url, options.liveness);
      case '/readyz':
        return answerChecks(req, res, url, options.readiness);
      case '/metrics':
        if (!options.metrics) return send(req, res, 404, 'text/plain; charset=utf-8', 'not found\n');
        try {
          const text = await options.metrics.text();
          return send(req, res, 200, options.metrics.contentType, text);
        } catch (err) {
          log.error({ err: err instanceof Error ? err.message : 'unknown' }, 'collecting metrics failed');
          return send(req, res, 500, 'text/plain; charset=utf-8', 'collecting metrics failed\n');
        }
      default:
        return send(req, res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void =>
      reject(new HealthServerError('ListenFailed', `cannot listen on ${host}:${options.port ?? 8080}: ${err.code ?? err.message}`));
    server.once('error', onError);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${urlHost === '0.0.0.0' ? '127.0.0.1' : urlHost === '[::]' ? '[::1]' : urlHost}:${address.port}`;
  log.info({ address: `${address.address}:${address.port}` }, 'serving /metrics, /healthz and /readyz');

  let closing: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Scrapers keep connections alive; do not let them hold shutdown.
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      });
      return closing;
    },
  };
}

function send(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
