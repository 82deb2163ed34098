/**
 * The HTTP front: authentication, impersonation, authorization, counters and request faults, then
 * dispatch to discovery/OpenAPI, the `/_sim/` fault routes, or the resource handlers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../src/observability/log.js';
import { impersonatedUser, impersonationOf, isSuperuser, type TokenAuthenticator } from './auth.js';
import type { RequestCounters } from './counters.js';
import { AGGREGATED_CONTENT_TYPE, aggregatedDiscovery, apiGroupDoc, apiGroupList, apiResourceList, apiVersions } from './discovery.js';
import type { Faults, FailRule } from './faults.js';
import { readBody, sendError, sendJson, sendText } from './http-io.js';
import { negotiate } from './negotiate.js';
import { openApiDocument, openApiIndex } from './openapi.js';
import { authorize, forbiddenMessage, type UserInfo } from './rbac.js';
import type { Registry } from './registry.js';
import { requestInfo, type NonResourceRequest, type ResourceRequest } from './request-info.js';
import { handleResource, type RouteContext } from './routes.js';
import { ApiError, forbidden, internalError, pathNotFound, unauthorized } from './status-errors.js';
import type { ExpiredMode } from './watch.js';

export interface ServerContext extends RouteContext {
  registry: Registry;
  auth: TokenAuthenticator;
  faults: Faults;
  counters: RequestCounters;
  logger: Logger;
  enableFaultRoutes: boolean;
  serverAddress: () => string;
}

const OPEN_PATHS = new Set(['/healthz', '/livez', '/readyz']);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createRequestHandler(ctx: ServerContext): RequestHandler {
  return (req, res) => {
    handle(ctx, req, res).catch((err: unknown) => {
      const apiErr = err instanceof ApiError ? err : internalError(err instanceof Error ? err.message : 'unexpected error');
      if (!(err instanceof ApiError)) ctx.logger.error({ err }, 'kube-sim request failed');
      const headers: Record<string, string> = {};
      const retry = apiErr.details?.retryAfterSeconds;
      if (retry !== undefined) headers['Retry-After'] = String(retry);
      if (!res.headersSent) sendError(res, apiErr, headers);
      else res.end();
    });
  };
}

async function handle(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://kube-sim');
  const method = req.method ?? 'GET';
  ctx.logger.debug({ method, path: url.pathname, query: url.search }, 'kube-sim request');
  if (url.pathname.startsWith('/_sim/') && ctx.enableFaultRoutes) {
    await simRoute(ctx, req, res, url);
    return;
  }
  if (OPEN_PATHS.has(url.pathname)) {
    sendText(res, 200, 'ok');
    return;
  }
  if (url.pathname === '/version') {
    sendJson(res, 200, { major: '1', minor: '32', gitVersion: 'v1.32.0-kube-sim', platform: 'linux/amd64' });
    return;
  }
  const caller = ctx.auth.authenticate(req.headers.authorization);
  if (!caller) throw unauthorized();
  const user = impersonate(ctx, req, caller);
  const info = requestInfo(method, url.pathname, url.searchParams);
  if (info.kind === 'nonResource') {
    nonResource(ctx, req, res, info);
    return;
  }
  await resource(ctx, req, res, info, user, url.searchParams);
}

function impersonate(ctx: ServerContext, req: IncomingMessage, caller: UserInfo): UserInfo {
  const want = impersonationOf(req.headers, req.headersDistinct);
  if (!want) return caller;
  if (!isSuperuser(caller)) {
    const check = authorize({ user: caller, verb: 'impersonate', apiGroup: '', resource: 'users', name: want.username }, ctx.rbacState());
    if (!check.allowed) {
      throw forbidden({ group: '', resource: 'users' }, want.username, `User "${caller.username}" cannot impersonate resource "users" in API group "" at the cluster scope`);
    }
  }
  return impersonatedUser(want);
}

async function resource(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  info: ResourceRequest,
  user: UserInfo,
  query: URLSearchParams,
): Promise<void> {
  const rt = ctx.registry.lookup(info.group, info.version, info.resource);
  if (!rt || (info.namespace !== undefined && !rt.namespaced && info.resource !== 'namespaces')) throw pathNotFound();
  if (info.subresource !== undefined && !(info.subresource === 'status' && rt.hasStatus)) throw pathNotFound();
  const counted = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  ctx.counters.record(info.verb, counted);
  if (ctx.faults.latencyMs > 0) await sleep(ctx.faults.latencyMs);
  if (!isSuperuser(user)) {
    const attrs: Parameters<typeof authorize>[0] = { user, verb: info.verb, apiGroup: info.group, resource: info.resource };
    if (info.subresource) attrs.subresource = info.subresource;
    if (info.name !== undefined) attrs.name = info.name;
    if (info.namespace !== undefined) attrs.namespace = info.namespace;
    const decision = authorize(attrs, ctx.rbacState());
    if (!decision.allowed) throw forbidden({ group: info.group, resource: info.resource }, info.name, forbiddenMessage(attrs, decision.reason));
  }
  const failure = ctx.faults.takeFailure(info.verb, counted);
  if (failure) throw failure.error;
  await handleResource(ctx, req, res, info, rt, user, query);
}

function nonResource(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, info: NonResourceRequest): void {
  const path = info.path.replace(/\/+$/, '');
  const parts = path.split('/').filter((p) => p !== '');
  const aggregated = negotiate(req.headers.accept, false) === 'aggregatedDiscovery';
  if (path === '/api' || path === '/apis') {
    if (aggregated) {
      sendJson(res, 200, aggregatedDiscovery(ctx.registry, path === '/api'), { 'Content-Type': AGGREGATED_CONTENT_TYPE });
    } else sendJson(res, 200, path === '/api' ? apiVersions(ctx.serverAddress()) : apiGroupList(ctx.registry));
    return;
  }
  let doc: object | undefined;
  if (parts[0] === 'api' && parts.length === 2) doc = apiResourceList(ctx.registry, '', parts[1] ?? '');
  else if (parts[0] === 'apis' && parts.length === 2) doc = apiGroupDoc(ctx.registry, parts[1] ?? '');
  else if (parts[0] === 'apis' && parts.length === 3) doc = apiResourceList(ctx.registry, parts[1] ?? '', parts[2] ?? '');
  else if (path === '/openapi/v3') doc = openApiIndex(ctx.registry);
  else if (parts[0] === 'openapi' && parts[1] === 'v3' && parts[2] === 'api' && parts.length === 4) doc = openApiDocument(ctx.registry, '', parts[3] ?? '');
  else if (parts[0] === 'openapi' && parts[1] === 'v3' && parts[2] === 'apis' && parts.length === 5) {
    doc = openApiDocument(ctx.registry, parts[3] ?? '', parts[4] ?? '');
  }
  if (!doc) throw pathNotFound();
  sendJson(res, 200, doc);
}

async function simRoute(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  const q = url.searchParams;
  switch (route) {
    case 'POST /_sim/watches/close':
      sendJson(res, 200, { closed: ctx.faults.closeWatches() });
      return;
    case 'POST /_sim/watches/destroy':
      sendJson(res, 200, { destroyed: ctx.faults.destroyWatchSockets() });
      return;
    case 'POST /_sim/watches/expire-next': {
      const mode: ExpiredMode = q.get('mode') === 'http' ? 'http' : 'event';
      ctx.faults.expireNextWatch(mode, q.get('resource') ?? undefined);
      sendJson(res, 200, { mode });
      return;
    }
    case 'POST /_sim/history/compact':
      ctx.faults.compactHistory();
      sendJson(res, 200, { resourceVersion: String(ctx.store.resourceVersion) });
      return;
    case 'POST /_sim/fail': {
      const rule = (await readBody(req)) as FailRule | undefined;
      if (!rule || typeof rule.status !== 'number') throw new ApiError(400, 'BadRequest', 'body must be {status, count, verb?, resource?, retryAfterSeconds?}');
      ctx.faults.failNext({ ...rule, count: rule.count ?? 1 });
      sendJson(res, 200, { ok: true });
      return;
    }
    case 'POST /_sim/latency': {
      const body = (await readBody(req)) as { ms?: number } | undefined;
      ctx.faults.setLatency(Number(body?.ms ?? 0));
      sendJson(res, 200, { ms: ctx.faults.latencyMs });
      return;
    }
    case 'POST /_sim/faults/clear':
      ctx.faults.clear();
      sendJson(res, 200, { ok: true });
      return;
    case 'GET /_sim/counters':
      sendJson(res, 200, ctx.counters.snapshot());
      return;
    case 'DELETE /_sim/counters':
      ctx.counters.reset();
      sendJson(res, 200, { ok: true });
      return;
    default:
      throw pathNotFound();
  }
}
