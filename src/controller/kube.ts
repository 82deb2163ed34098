/**
 * Small pieces shared by everything that talks to the Kubernetes API: typed API
 * clients from one KubeConfig, an authenticated JSON GET for paths the typed
 * clients do not cover generically, and error classification.
 *
 * ApiException from client-node carries the whole response body and headers in
 * its message. Callers turn it into a KubeApiError (code, reason, kind) before
 * anything is logged or thrown further, so no response body travels on.
 */
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  HttpMethod,
  RequestContext,
  type KubeConfig,
} from '@kubernetes/client-node';
import { fetch } from 'undici';

export const ACCEPT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
export const ACCEPT_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

export interface KubeApis {
  core: CoreV1Api;
  custom: CustomObjectsApi;
  coordination: CoordinationV1Api;
}

export function makeKubeApis(kubeConfig: KubeConfig): KubeApis {
  return {
    core: kubeConfig.makeApiClient(CoreV1Api),
    custom: kubeConfig.makeApiClient(CustomObjectsApi),
    coordination: kubeConfig.makeApiClient(CoordinationV1Api),
  };
}

/** What a caller decides on. `Network` covers refused/reset connections and timeouts. */
export type KubeErrorKind =
  | 'NotFound'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'Unauthorized'
  | 'Forbidden'
  | 'TooManyRequests'
  | 'ServerError'
  | 'BadRequest'
  | 'Network'
  | 'Aborted'
  | 'Unknown';

/**
 * A Kubernetes API failure without the response body: the message names the
 * operation, the HTTP code and the Status reason only.
 */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly kind: KubeErrorKind,
    readonly code: number | undefined,
    readonly reason: string | undefined,
    operation: string,
    /** Seconds from Retry-After, when the server sent one. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`${operation}: ${code === undefined ? kind : `HTTP ${code}`}${reason ? ` ${reason}` : ''}`);
  }
}

function kindForCode(code: number): KubeErrorKind {
  if (code === 404) return 'NotFound';
  if (code === 409) return 'Conflict';
  if (code === 410) return 'Gone';
  if (code === 422) return 'Invalid';
  if (code === 401) return 'Unauthorized';
  if (code === 403) return 'Forbidden';
  if (code === 429) return 'TooManyRequests';
  if (code >= 500) return 'ServerError';
  if (code >= 400) return 'BadRequest';
  return 'Unknown';
}

/** The HTTP status of an ApiException, a Watch error (`statusCode`) or a KubeApiError. */
export function statusCodeOf(err: unknown): number | undefined {
  if (err instanceof KubeApiError) return err.code;
  if (err instanceof ApiException) return err.code;
  if (typeof err === 'object' && err !== null) {
    const rec = err as { statusCode?: unknown; code?: unknown };
    if (typeof rec.statusCode === 'number') return rec.statusCode;
  }
  return undefined;
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/** Only the `reason` of a Status body: short, enumerated by the API server, never data. */
function reasonOf(body: unknown): string | undefined {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (typeof parsed === 'object' && parsed !== null) {
    const reason = (parsed as { reason?: unknown }).reason;
    if (typeof reason === 'string' && /^[A-Za-z]{1,64}$/.test(reason)) return reason;
  }
  return undefined;
}

function retryAfterOf(headers: Record<string, string> | undefined): number | undefined {
  const raw = headers?.['retry-after'] ?? headers?.['Retry-After'];
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/** Turns anything a client-node call threw into a KubeApiError (idempotent). */
export function toKubeApiError(err: unknown, operation: string): KubeApiError {
  if (err instanceof KubeApiError) return err;
  if (isAbort(err)) return new KubeApiError('Aborted', undefined, undefined, operation);
  if (err instanceof ApiException) {
    const e = err as ApiException<unknown>;
    return new KubeApiError(kindForCode(e.code), e.code, reasonOf(e.body), operation, retryAfterOf(e.headers));
  }
  const code = statusCodeOf(err);
  if (code !== undefined) return new KubeApiError(kindForCode(code), code, undefined, operation);
  if (err instanceof Error && (err.name === 'TimeoutError' || err instanceof TypeError)) {
    return new KubeApiError('Network', undefined, networkReason(err), operation);
  }
  return new KubeApiError('Unknown', undefined, undefined, operation);
}

function networkReason(err: Error): string | undefined {
  const cause = (err as { cause?: { code?: unknown } }).cause;
  if (cause && typeof cause.code === 'string' && /^[A-Z_]{1,40}$/.test(cause.code)) return cause.code;
  return err.name === 'TimeoutError' ? 'Timeout' : undefined;
}

export function isNotFound(err: unknown): boolean {
  return statusCodeOf(err) === 404;
}
export function isConflict(err: unknown): boolean {
  return statusCodeOf(err) === 409;
}

export interface KubeGetOptions {
  accept?: string;
  signal?: AbortSignal;
}

/**
 * GET a path on the current cluster with the KubeConfig's credentials and TLS
 * settings (the same way client-node's Watch sends its request) and parse the
 * JSON answer. Non-2xx throws a KubeApiError.
 */
export async function kubeGetJson(kubeConfig: KubeConfig, pathAndQuery: string, options: KubeGetOptions = {}): Promise<unknown> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new KubeApiError('Unknown', undefined, 'NoCluster', `GET ${stripQuery(pathAndQuery)}`);
  const ctx = new RequestContext(cluster.server + pathAndQuery, HttpMethod.GET);
  await kubeConfig.applySecurityAuthentication(ctx);
  ctx.setHeaderParam('Accept', options.accept ?? 'application/json');
  const operation = `GET ${stripQuery(pathAndQuery)}`;
  let response;
  try {
    response = await fetch(ctx.getUrl(), {
      method: 'GET',
      headers: ctx.getHeaders(),
      dispatcher: ctx.getDispatcher(),
      signal: options.signal ?? null,
    });
  } catch (err) {
    throw toKubeApiError(err, operation);
  }
  const text = await response.text();
  if (response.status < 200 || response.status > 299) {
    const headers: Record<string, string> = {};
    response.headers.forEach((v, k) => (headers[k] = v));
    throw new KubeApiError(kindForCode(response.status), response.status, reasonOf(text), operation, retryAfterOf(headers));
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new KubeApiError('Unknown', response.status, 'InvalidJSON', operation);
  }
}

function stripQuery(pathAndQuery: string): string {
  const i = pathAndQuery.indexOf('?');
  return i < 0 ? pathAndQuery : pathAndQuery.slice(0, i);
}

/**
 * A KubeConfig view whose requests carry an extra Accept header. client-node's
 * Watch only sets Authorization, so a metadata-only watch needs this.
 */
export function withAcceptHeader(kubeConfig: KubeConfig, accept: string): KubeConfig {
  const view = Object.create(kubeConfig) as KubeConfig;
  view.applySecurityAuthentication = async (context: RequestContext): Promise<void> => {
    await kubeConfig.applySecurityAuthentication(context);
    context.setHeaderParam('Accept', accept);
  };
  return view;
}

/**
 * Makes every request through `kubeConfig` share one connection pool.
 *
 * client-node 2.0.1 builds a new undici Agent for each request when the
 * cluster has TLS settings (a CA, as every in-cluster config has): no
 * keep-alive, a TLS handshake and a CA parse per call. Measured with the
 * rotation benchmark, that cost dominated a reconcile. The first Agent built
 * is kept and handed to every later request; headers (the bearer token, which
 * the kubelet rotates) are still applied per request. A client certificate
 * rotated on disk is picked up only by a restart.
 */
export function shareConnections(kubeConfig: KubeConfig): KubeConfig {
  const apply = kubeConfig.applySecurityAuthentication.bind(kubeConfig);
  let shared: ReturnType<RequestContext['getDispatcher']>;
  kubeConfig.applySecurityAuthentication = async (context: RequestContext): Promise<void> => {
    await apply(context);
    const built = context.getDispatcher();
    if (built === undefined) return;
    if (shared === undefined) {
      shared = built;
      return;
    }
    context.setDispatcher(shared);
    // Never used: it holds no connection, closing it only releases the object (a failure there changes nothing).
    void built.close().catch(() => undefined);
  };
  return kubeConfig;
}
