import type { IncomingMessage } from 'node:http';
import { ApiError } from './api-error.js';
import { readBody } from './body.js';
import { VAULT_OPERATIONS, type FaultPlan, type VaultOperation } from './faults.js';
import type { RouteRateLimiter } from './rate-limit.js';
import type { SecretStore } from './store.js';
import type { VaultWrite } from './write-log.js';

/**
 * `/_test/` routes, served only with --test-hooks, for tests that drive a
 * vault in another process. No API key is asked: the flag is the gate.
 *
 *   POST /_test/faults   {"failNext": {"count", "status", "retryAfterSeconds"?, "route"?}?,
 *                         "latencyMs"?, "resetNextConnections"?}
 *   POST /_test/reset    clears faults and rate-limit state
 *   GET  /_test/secrets/{name}  {"secret_name", "secret_value"}: the current plaintext
 *   GET  /_test/writes   {"writes": [...], "requestCount"}; writes is empty unless the vault keeps them
 */

export const TEST_ROUTE_PREFIX = '/_test/';

export interface TestHookContext {
  faults: FaultPlan;
  store: SecretStore;
  limiter: RouteRateLimiter | undefined;
  maxBodyBytes: number;
  writes(): ReadonlyArray<VaultWrite>;
  requestCount(): number;
}

export interface TestHookAnswer {
  status: number;
  body: unknown;
}

export async function handleTestRoute(
  method: string,
  path: string,
  req: IncomingMessage,
  ctx: TestHookContext,
): Promise<TestHookAnswer> {
  try {
    if (method === 'POST' && path === '/_test/faults') {
      applyFaults(await readJson(req, ctx.maxBodyBytes), ctx.faults);
      return { status: 200, body: { ok: true } };
    }
    if (method === 'POST' && path === '/_test/reset') {
      ctx.faults.clear();
      ctx.limiter?.clear();
      return { status: 200, body: { ok: true } };
    }
    if (method === 'GET' && path === '/_test/writes') {
      return { status: 200, body: { writes: ctx.writes(), requestCount: ctx.requestCount() } };
    }
    const secretPrefix = '/_test/secrets/';
    if (method === 'GET' && path.startsWith(secretPrefix)) {
      const name = decodeURIComponent(path.slice(secretPrefix.length));
      const value = ctx.store.plaintext(name);
      if (value === undefined) throw new ApiError(404, 'NotFoundError', `Secret '${name}' not found`);
      return { status: 200, body: { secret_name: name, secret_value: value } };
    }
    throw new ApiError(404, 'NotFoundError', 'Route not found');
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, body: err.envelope() };
    if (err instanceof URIError || err instanceof RangeError) {
      return { status: 400, body: new ApiError(400, 'BadRequestError', err.message).envelope() };
    }
    throw err;
  }
}

async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const raw = await readBody(req, limit);
  if (raw === 'too-large') throw new ApiError(413, 'PayloadTooLargeError', 'Request body too large');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8') || '{}');
  } catch {
    throw new ApiError(400, 'BadRequestError', 'Body must be JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ApiError(400, 'BadRequestError', 'Body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function applyFaults(body: Record<string, unknown>, faults: FaultPlan): void {
  const bad = (what: string): ApiError => new ApiError(400, 'BadRequestError', `Invalid ${what}`);
  const { failNext, latencyMs, resetNextConnections } = body;
  // Check everything before changing anything.
  let fail: { count: number; status: number; retryAfterSeconds?: number; route?: VaultOperation } | undefined;
  if (failNext !== undefined) {
    if (typeof failNext !== 'object' || failNext === null) throw bad('failNext');
    const f = failNext as Record<string, unknown>;
    if (typeof f.count !== 'number' || typeof f.status !== 'number') throw bad('failNext: count and status are numbers');
    fail = { count: f.count, status: f.status };
    if (f.retryAfterSeconds !== undefined) {
      if (typeof f.retryAfterSeconds !== 'number') throw bad('failNext.retryAfterSeconds');
      fail.retryAfterSeconds = f.retryAfterSeconds;
    }
    if (f.route !== undefined) {
      const route = VAULT_OPERATIONS.find((op) => op === f.route);
      if (route === undefined) throw bad(`failNext.route: one of ${VAULT_OPERATIONS.join(', ')}`);
      fail.route = route;
    }
  }
  if (latencyMs !== undefined && typeof latencyMs !== 'number') throw bad('latencyMs');
  if (resetNextConnections !== undefined && typeof resetNextConnections !== 'number') throw bad('resetNextConnections');

  if (fail) {
    const { count, status, ...opts } = fail;
    faults.failNext(count, status, opts);
  }
  if (latencyMs !== undefined) faults.setLatency(latencyMs);
  if (resetNextConnections !== undefined) faults.resetNextConnections(resetNextConnections);
}
