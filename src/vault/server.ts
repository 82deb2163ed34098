import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/log.js';
import { ApiError, errorTypeForStatus } from './api-error.js';
import type { AuditLog } from './audit.js';
import { isJsonContentType, readBody } from './body.js';
import type { FaultPlan } from './faults.js';
import { runOperation, type Caller } from './handlers.js';
import { roleAllows, type ApiKeyRing } from './keys.js';
import type { RouteRateLimiter } from './rate-limit.js';
import { matchRoute } from './routes.js';
import type { SecretStore } from './store.js';
import { handleTestRoute, TEST_ROUTE_PREFIX } from './test-hooks.js';
import type { VaultWrite, WriteLog } from './write-log.js';

export interface VaultHttpDeps {
  store: SecretStore;
  keys: ApiKeyRing;
  faults: FaultPlan;
  audit: AuditLog;
  logger: Logger;
  limiter: RouteRateLimiter | undefined;
  writeLog: WriteLog;
  maxBodyBytes: number;
  testHooks: boolean;
}

interface RequestAudit {
  route: string;
  name: string | undefined;
  role?: string;
}

/** After close() has waited this long for in-flight requests, the remaining connections are cut. */
const CLOSE_GRACE_MS = 30_000;

/**
 * The HTTP side of the local vault. Order of checks per API request: route,
 * injected faults, API key, role, rate limit, content type, body size, body
 * validation, then the operation — auth comes before anything that reads the body.
 */
export class VaultHttpServer {
  private readonly server: Server;
  private requests = 0;
  private inFlight = 0;
  private closing: Promise<void> | undefined;

  constructor(private readonly deps: VaultHttpDeps) {
    this.server = createServer((req, res) => {
      this.inFlight += 1;
      this.handle(req, res)
        .catch((err: unknown) => this.answerUnexpected(res, err))
        .finally(() => {
          this.inFlight -= 1;
          if (this.closing && this.inFlight === 0) this.server.closeIdleConnections();
        });
    });
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting connections, lets in-flight requests finish, then waits for pending disk writes. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve, reject) => {
      const force = setTimeout(() => this.server.closeAllConnections(), CLOSE_GRACE_MS);
      force.unref();
      this.server.close((err) => {
        clearTimeout(force);
        if (err) reject(err);
        else resolve();
      });
      this.server.closeIdleConnections();
    }).then(() => this.deps.store.settled());
    return this.closing;
  }

  writes(): ReadonlyArray<VaultWrite> {
    return this.deps.writeLog.list();
  }

  requestCount(): number {
    return this.requests;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';

    if (path === TEST_ROUTE_PREFIX.slice(0, -1) || path.startsWith(TEST_ROUTE_PREFIX)) {
      if (this.deps.testHooks) {
        const answer = await handleTestRoute(method, path, req, {
          faults: this.deps.faults,
          store: this.deps.store,
          limiter: this.deps.limiter,
          maxBodyBytes: this.deps.maxBodyBytes,
          writes: () => this.writes(),
          requestCount: () => this.requests,
        });
        this.send(res, answer.status, answer.body);
        return;
      }
      // Without --test-hooks these routes do not exist: same answer as any unknown route.
    }

    this.requests += 1;
    const route = matchRoute(method, path);
    const routeName = route.kind === 'match' ? route.route : `${method} (unknown route)`;
    const audit: RequestAudit = { route: routeName, name: route.kind === 'match' ? route.name : undefined };

    if (this.deps.faults.takeReset()) {
      this.deps.audit.record({ ...audit, outcome: 'connection_reset', status: 0 });
      req.socket.destroy();
      return;
    }
    const latency = this.deps.faults.latencyMs();
    if (latency > 0) await sleep(latency);

    try {
      const injected = this.deps.faults.takeFailure(route.kind === 'match' ? route.op : undefined);
      if (injected) {
        const headers: Record<string, string> = {};
        if (injected.retryAfterSeconds !== undefined) headers['retry-after'] = String(injected.retryAfterSeconds);
        const err = new ApiError(injected.status, errorTypeForStatus(injected.status), 'Injected failure', null, headers);
        this.sendError(res, err, { ...audit, outcome: 'injected' });
        return;
      }
      if (route.kind === 'not-found') throw new ApiError(404, 'NotFoundError', 'Route not found');
      if (route.kind === 'method-not-allowed') {
        throw new ApiError(405, 'MethodNotAllowedError', 'Method not allowed', null, { allow: route.allow });
      }

      const caller: Caller | undefined = this.deps.keys.callerOf(req.headers.authorization);
      if (!caller) throw new ApiError(401, 'UnauthorizedError', 'Missing or invalid API key');
      audit.role = caller.role;
      if (!roleAllows(caller.role, route.role)) {
        // The real API reports 403 with the UnauthorizedError type too (DESIGN.md).
        throw new ApiError(403, 'UnauthorizedError', `This API key's role (${caller.role}) may not call ${route.route}`);
      }
      const wait = this.deps.limiter?.take(caller.key, route.route) ?? 0;
      if (wait > 0) {
        throw new ApiError(429, 'TooManyRequestsError', 'Rate limit exceeded for this route', null, {
          'retry-after': String(wait),
        });
      }

      let body: Buffer = Buffer.alloc(0);
      if (route.op === 'create' || route.op === 'update') {
        if (!isJsonContentType(req.headers['content-type'])) {
          throw new ApiError(415, 'UnsupportedMediaTypeError', 'Content-Type must be application/json');
        }
        const read = await readBody(req, this.deps.maxBodyBytes);
        if (read === 'too-large') {
          throw new ApiError(413, 'PayloadTooLargeError', `Request body exceeds ${this.deps.maxBodyBytes} bytes`);
        }
        body = read;
      }

      const result = await runOperation(route, body, caller, {
        store: this.deps.store,
        recordWrite: (w) => this.deps.writeLog.record(w),
      });
      this.deps.audit.record({ ...audit, name: result.name ?? audit.name, outcome: result.outcome, status: result.status });
      this.send(res, result.status, result.body);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      this.sendError(res, err, { ...audit, outcome: err.outcome });
    }
  }

  private sendError(
    res: ServerResponse,
    err: ApiError,
    audit: RequestAudit & { outcome: string },
  ): void {
    // A name that failed validation is not echoed into the log.
    const name = err.status === 422 ? undefined : audit.name;
    this.deps.audit.record({ ...audit, name, status: err.status });
    this.send(res, err.status, err.envelope(), err.headers);
  }

  private answerUnexpected(res: ServerResponse, err: unknown): void {
    // Name and code only: the message of an unexpected error is not trusted to be value-free.
    const e = err as { name?: unknown; code?: unknown };
    this.deps.logger.error({ err: { name: e?.name, code: e?.code } }, 'vault request failed');
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    this.send(res, 500, new ApiError(500, 'InternalServerError', 'Internal server error').envelope());
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
    if (res.destroyed) return;
    const payload = JSON.stringify(body);
    res.statusCode = status;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.setHeader('content-type', 'application/json');
    res.setHeader('content-length', Buffer.byteLength(payload));
    if (this.closing) res.setHeader('connection', 'close');
    res.end(payload);
  }
}
