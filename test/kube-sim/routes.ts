/** Handlers for resource requests (after authentication, authorization and fault checks). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { atVersion, decodeContinue, encodeContinue, groupVersion, itemKeyOf, jsonOf, metadataJsonOf, partialMetadata } from './encode.js';
import { readBody, sendError, sendJson } from './http-io.js';
import { streamList } from './list-stream.js';
import { negotiate } from './negotiate.js';
import type { DeleteOptions, FieldValidation, ResourceOps, WriteOptions, WriteResult } from './ops.js';
import { patchTypeOf } from './patch.js';
import { authorize, type RbacState, type UserInfo } from './rbac.js';
import { keyOf, type ResourceType } from './registry.js';
import type { ResourceRequest } from './request-info.js';
import { fieldLabelsFor, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { ApiError, badRequest, methodNotAllowed } from './status-errors.js';
import type { ObjectStore } from './store.js';
import { toTable } from './table.js';
import type { KObject } from './types.js';
import { serveWatch, type ExpiredMode } from './watch.js';
import type { WatchHub } from './watch-hub.js';
import { isSuperuser } from './auth.js';

export interface RouteContext {
  store: ObjectStore;
  ops: ResourceOps;
  hub: WatchHub;
  rbacState: () => RbacState;
  expiredMode: ExpiredMode;
  bookmarkIntervalMs: number;
  takeExpiredWatch: (resource: string) => ExpiredMode | undefined;
}

type IncludeObject = 'Object' | 'Metadata' | 'None';

function includeObjectOf(query: URLSearchParams): IncludeObject {
  const v = query.get('includeObject');
  return v === 'Object' || v === 'None' ? v : 'Metadata';
}

function fieldValidationOf(query: URLSearchParams): FieldValidation {
  const v = query.get('fieldValidation');
  return v === 'Strict' || v === 'Ignore' ? v : 'Warn';
}

function selectorFilter(rt: ResourceType, query: URLSearchParams): (obj: KObject) => boolean {
  try {
    const labels = query.get('labelSelector') ? parseLabelSelector(query.get('labelSelector') ?? '') : undefined;
    const fields = query.get('fieldSelector') ? parseFieldSelector(query.get('fieldSelector') ?? '', fieldLabelsFor(rt.group, rt.plural)) : undefined;
    return (obj) => (labels ? labels(obj.metadata.labels) : true) && (fields ? fields(obj) : true);
  } catch (err) {
    throw badRequest(err instanceof Error ? err.message : 'invalid selector');
  }
}

function warningHeaders(warnings: string[]): Record<string, string[]> {
  return warnings.length > 0 ? { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) } : {};
}

function columnsOf(rt: ResourceType, version: string): NonNullable<ResourceType['printerColumns'][string]> {
  return rt.printerColumns[version] ?? [];
}

export async function handleResource(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  info: ResourceRequest,
  rt: ResourceType,
  user: UserInfo,
  query: URLSearchParams,
): Promise<void> {
  const apiVersion = groupVersion(rt, info.version);
  const namespace = rt.namespaced ? info.namespace : undefined;
  const subresource = info.subresource === 'status' ? 'status' : undefined;
  const accept = req.headers.accept;
  const writeOpts: WriteOptions = {
    version: info.version,
    fieldValidation: fieldValidationOf(query),
    dryRun: query.getAll('dryRun').includes('All'),
  };
  if (subresource) writeOpts.subresource = subresource;
  const fieldManager = query.get('fieldManager');
  if (fieldManager) writeOpts.fieldManager = fieldManager;

  const represent = (obj: KObject): unknown => {
    switch (negotiate(accept, true)) {
      case 'metadata':
        return partialMetadata(obj);
      case 'table':
        return toTable([atVersion(obj, apiVersion)], columnsOf(rt, info.version), {
          includeObject: includeObjectOf(query),
          resourceVersion: obj.metadata.resourceVersion ?? '',
        });
      default:
        return atVersion(obj, apiVersion);
    }
  };
  const written = (r: WriteResult): void => {
    sendJson(res, r.created ? 201 : 200, atVersion(r.object, apiVersion), warningHeaders(r.warnings));
  };

  switch (info.verb) {
    case 'get': {
      sendJson(res, 200, represent(ctx.ops.get(rt, namespace, info.name ?? '')));
      return;
    }
    case 'list':
      await list(ctx, req, res, rt, info, apiVersion, namespace, query);
      return;
    case 'watch':
      watch(ctx, req, res, rt, info, apiVersion, namespace, query);
      return;
    case 'create': {
      if (info.name !== undefined) throw methodNotAllowed();
      const body = await readBody(req);
      if (rt.plural === 'selfsubjectaccessreviews') {
        sendJson(res, 201, selfSubjectAccessReview(body, user, ctx.rbacState()));
        return;
      }
      written(ctx.ops.create(rt, namespace, body, writeOpts));
      return;
    }
    case 'update':
      written(ctx.ops.update(rt, namespace, info.name ?? '', await readBody(req), writeOpts));
      return;
    case 'patch': {
      const type = patchTypeOf(req.headers['content-type']);
      if (type === 'apply' && !fieldManager) throw badRequest('PATCH requests with apply content type require fieldManager');
      written(ctx.ops.patch(rt, namespace, info.name ?? '', type, await readBody(req), writeOpts));
      return;
    }
    case 'delete': {
      const body = (await readBody(req)) as { preconditions?: DeleteOptions['preconditions']; propagationPolicy?: string } | undefined;
      const opts: DeleteOptions = {};
      if (body?.preconditions) opts.preconditions = body.preconditions;
      const policy = body?.propagationPolicy ?? query.get('propagationPolicy') ?? undefined;
      if (policy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(policy)) {
        throw badRequest(`propagationPolicy: Unsupported value: "${policy}"`);
      }
      const r = ctx.ops.delete(rt, namespace, info.name ?? '', opts);
      if (r.removed && !rt.custom) {
        sendJson(res, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name: info.name, group: rt.group || undefined, kind: rt.plural, uid: r.object.metadata.uid },
        });
      } else sendJson(res, 200, atVersion(r.object, apiVersion));
      return;
    }
    case 'deletecollection': {
      const matches = selectorFilter(rt, query);
      for (const o of ctx.store.list(keyOf(rt), namespace).filter(matches)) {
        ctx.ops.delete(rt, o.metadata.namespace, o.metadata.name ?? '');
      }
      sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
      return;
    }
    default:
      throw methodNotAllowed();
  }
}

async function list(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  rt: ResourceType,
  info: ResourceRequest,
  apiVersion: string,
  namespace: string | undefined,
  query: URLSearchParams,
): Promise<void> {
  const matches = selectorFilter(rt, query);
  const rv = String(ctx.store.resourceVersion);
  let all = ctx.store.list(keyOf(rt), namespace);
  const token = query.get('continue');
  if (token) {
    const c = decodeContinue(token);
    if (!c) throw badRequest('continue key is not valid');
    const start = c.start;
    const i = all.findIndex((o) => itemKeyOf(o) > start);
    all = i < 0 ? [] : all.slice(i);
  }
  let items = all.filter(matches);
  const limit = Number(query.get('limit') ?? '0');
  const meta: Record<string, unknown> = { resourceVersion: rv };
  if (Number.isInteger(limit) && limit > 0 && items.length > limit) {
    const remaining = items.length - limit;
    items = items.slice(0, limit);
    const last = items[items.length - 1];
    if (last) meta['continue'] = encodeContinue(rv, itemKeyOf(last));
    meta['remainingItemCount'] = remaining;
  }
  const representation = negotiate(req.headers.accept, false);
  if (representation === 'table') {
    const opts: { includeObject: IncludeObject; resourceVersion: string; continueToken?: string } = {
      includeObject: includeObjectOf(query),
      resourceVersion: rv,
    };
    if (typeof meta['continue'] === 'string') opts.continueToken = meta['continue'];
    sendJson(res, 200, toTable(items.map((o) => atVersion(o, apiVersion)), columnsOf(rt, info.version), opts));
    return;
  }
  if (representation === 'metadataList') {
    await streamList(res, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: meta }, items, metadataJsonOf);
    return;
  }
  await streamList(res, { kind: rt.listKind, apiVersion, metadata: meta }, items, (o) =>
    o.apiVersion === apiVersion ? jsonOf(o) : JSON.stringify(atVersion(o, apiVersion)),
  );
}

function watch(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  rt: ResourceType,
  info: ResourceRequest,
  apiVersion: string,
  namespace: string | undefined,
  query: URLSearchParams,
): void {
  const matches = selectorFilter(rt, query);
  const representation = negotiate(req.headers.accept, false);
  const timeout = query.get('timeoutSeconds');
  const encode = (obj: KObject): string => {
    if (representation === 'metadataList' || representation === 'metadata') return metadataJsonOf(obj);
    if (representation === 'table') {
      return JSON.stringify(
        toTable([atVersion(obj, apiVersion)], columnsOf(rt, info.version), {
          includeObject: includeObjectOf(query),
          resourceVersion: obj.metadata.resourceVersion ?? '',
        }),
      );
    }
    return obj.apiVersion === apiVersion ? jsonOf(obj) : JSON.stringify(atVersion(obj, apiVersion));
  };
  serveWatch(
    req,
    res,
    {
      key: keyOf(rt),
      namespace,
      matches,
      resourceVersion: query.get('resourceVersion') ?? undefined,
      allowBookmarks: query.get('allowWatchBookmarks') === 'true',
      timeoutSeconds: timeout !== null ? Number(timeout) : undefined,
      bookmarkIntervalMs: ctx.bookmarkIntervalMs,
      forceExpired: ctx.takeExpiredWatch(rt.plural),
      expiredMode: ctx.expiredMode,
      encode,
      cacheKey: `${representation}|${apiVersion}|${query.get('includeObject') ?? ''}`,
      bookmarkObject: (rv) =>
        representation === 'metadataList'
          ? { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: rv } }
          : { kind: rt.kind, apiVersion, metadata: { resourceVersion: rv } },
    },
    ctx.store,
    ctx.hub,
    (err: ApiError) => sendError(res, err),
  );
}

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

/** SelfSubjectAccessReview: the same evaluation every request gets, for the (possibly impersonated) caller. */
function selfSubjectAccessReview(body: unknown, user: UserInfo, state: RbacState): object {
  const spec = ((body as { spec?: unknown } | undefined)?.spec ?? {}) as {
    resourceAttributes?: ResourceAttributes;
    nonResourceAttributes?: { path?: string; verb?: string };
  };
  let allowed = false;
  let reason = '';
  if (isSuperuser(user)) {
    allowed = true;
    reason = 'member of system:masters';
  } else if (spec.resourceAttributes) {
    const a = spec.resourceAttributes;
    const attrs: Parameters<typeof authorize>[0] = { user, verb: a.verb ?? '', apiGroup: a.group ?? '', resource: a.resource ?? '' };
    if (a.subresource) attrs.subresource = a.subresource;
    if (a.name) attrs.name = a.name;
    if (a.namespace) attrs.namespace = a.namespace;
    ({ allowed, reason } = authorize(attrs, state));
  } else if (spec.nonResourceAttributes) {
    const n = spec.nonResourceAttributes;
    ({ allowed, reason } = authorize({ user, verb: n.verb ?? '', apiGroup: '', resource: '', path: n.path ?? '' }, state));
  }
  const status: Record<string, unknown> = { allowed };
  if (reason) status['reason'] = reason;
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec,
    status,
  };
}
