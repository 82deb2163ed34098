import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { Pool, type Dispatcher } from 'undici';
import type { Logger } from '../observability/log.js';
import { silentLogger } from '../observability/log.js';
import { checkApiKey, type ApiKeySource } from './api-key.js';
import { VaultClientConfigError, VaultError, type VaultErrorKind, type VaultOperation } from './errors.js';
import { TokenBucket } from './rate-limit.js';
import { backoffDelay, parseRetryAfter, sleep } from './retry.js';

const requireJson = createRequire(import.meta.url);
// src/mixpeek/ and dist/mixpeek/ both sit two levels below package.json.
const { version } = requireJson('../../package.json') as { version: string };
export const USER_AGENT = `mixpeek-secret-operator/${version}`;

const SECRETS_PATH = '/v1/organizations/secrets';
const MAX_NAME_LENGTH = 100;
/** Answers are a few hundred bytes; anything far larger is not the vault talking. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** 429 without Retry-After: hold everyone back at least this long. */
const MIN_RATE_LIMIT_PAUSE_MS = 1000;

export interface VaultSecretResult {
  secretName: string;
  created: boolean | null;
  updated: boolean | null;
  deleted: boolean | null;
}

export interface VaultSecretList {
  secrets: string[];
  count: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Use this key for this call instead of the operator's (a tenant's own credentials). */
  apiKey?: string;
}

export interface MixpeekClientOptions {
  /** e.g. https://api.mixpeek.com; plain http only for loopback hosts or with allowInsecureHttp. */
  baseUrl: string;
  apiKey: ApiKeySource;
  /** Client-side token bucket shared by every call. Default 1/s, burst 5. */
  rateLimit?: { ratePerSecond: number; burst: number };
  retry?: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number; deadlineMs?: number };
  timeouts?: { connectMs?: number; headersMs?: number; bodyMs?: number };
  allowInsecureHttp?: boolean;
  logger?: Logger;
  /** Jitter source in [0, 1); tests pin it. */
  random?: () => number;
  /** Told of every HTTP attempt and retry, for metrics. */
  observer?: VaultCallObserver;
}

export interface VaultCallObserver {
  /** One HTTP attempt; `status` undefined when no answer came. */
  attempted(operation: VaultOperation, status: number | undefined, seconds: number): void;
  retried(operation: VaultOperation): void;
}

interface Failure {
  kind: VaultErrorKind;
  reason: string;
  retryable: boolean;
  status?: number;
  mixpeekType?: string;
  retryAfterMs?: number;
}

type AttemptResult<T> = { ok: true; value: T } | { ok: false; failure: Failure };

interface CallSpec<T> {
  operation: VaultOperation;
  secretName?: string;
  /** The submitted value, only to make sure nothing echoed from the server carries it. */
  value?: string;
  method: Dispatcher.HttpMethod;
  path: string;
  body?: Record<string, string>;
  parse: (answer: unknown) => T | undefined;
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new VaultClientConfigError('InvalidOption', `vault client option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`);
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalFlag(value: unknown): boolean | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value;
  return undefined;
}

function parseSecretResult(answer: unknown): VaultSecretResult | undefined {
  if (!isRecord(answer) || typeof answer.secret_name !== 'string') return undefined;
  const created = optionalFlag(answer.created);
  const updated = optionalFlag(answer.updated);
  const deleted = optionalFlag(answer.deleted);
  if (created === undefined || updated === undefined || deleted === undefined) return undefined;
  return { secretName: answer.secret_name, created, updated, deleted };
}

function parseSecretList(answer: unknown): VaultSecretList | undefined {
  if (!isRecord(answer) || !Array.isArray(answer.secrets)) return undefined;
  const secrets: unknown[] = answer.secrets;
  if (!secrets.every((name): name is string => typeof name === 'string')) return undefined;
  const count = answer.count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) return undefined;
  return { secrets, count };
}

/**
 * The Mixpeek error type from an error envelope, if it looks like a type name.
 * Nothing else of the answer is kept: message and details can echo the input.
 */
function mixpeekTypeOf(text: string, value: string | undefined): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || !isRecord(parsed.error)) return undefined;
  const type = parsed.error.type;
  if (typeof type !== 'string' || !/^[A-Za-z][A-Za-z0-9_.]{0,63}$/.test(type)) return undefined;
  if (value !== undefined && type.includes(value)) return undefined;
  return type;
}

function failureForStatus(status: number, mixpeekType: string | undefined, retryAfterMs: number | undefined): Failure {
  const reason = mixpeekType === undefined ? `HTTP ${status}` : `${status} ${mixpeekType}`;
  const base = { reason, status, ...(mixpeekType === undefined ? {} : { mixpeekType }) };
  if (status === 429) {
    return { ...base, kind: 'RateLimited', retryable: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  if (status >= 500) {
    return { ...base, kind: 'Unavailable', retryable: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  switch (status) {
    case 401:
      return { ...base, kind: 'Unauthorized', retryable: false };
    case 403:
      return { ...base, kind: 'Forbidden', retryable: false };
    case 404:
      return { ...base, kind: 'NotFound', retryable: false };
    case 409:
      return { ...base, kind: 'AlreadyExists', retryable: false };
  }
  if (status >= 400) return { ...base, kind: 'Rejected', retryable: false };
  // 1xx/3xx: redirects are not followed on purpose (the Authorization header must not travel).
  return { ...base, kind: 'InvalidResponse', retryable: false };
}

const NETWORK_FAILURES: Record<string, Omit<Failure, 'status'>> = {
  UND_ERR_CONNECT_TIMEOUT: { kind: 'Timeout', reason: 'timed out connecting', retryable: true },
  UND_ERR_HEADERS_TIMEOUT: { kind: 'Timeout', reason: 'timed out waiting for the response headers', retryable: true },
  UND_ERR_BODY_TIMEOUT: { kind: 'Timeout', reason: 'timed out reading the response body', retryable: true },
  ETIMEDOUT: { kind: 'Timeout', reason: 'connection timed out', retryable: true },
  UND_ERR_SOCKET: { kind: 'Unavailable', reason: 'connection closed by the server', retryable: true },
  ECONNRESET: { kind: 'Unavailable', reason: 'connection reset', retryable: true },
  ECONNREFUSED: { kind: 'Unavailable', reason: 'connection refused', retryable: true },
  EPIPE: { kind: 'Unavailable', reason: 'connection closed while sending', retryable: true },
  EHOSTUNREACH: { kind: 'Unavailable', reason: 'host unreachable', retryable: true },
  ENETUNREACH: { kind: 'Unavailable', reason: 'network unreachable', retryable: true },
  ENOTFOUND: { kind: 'Unavailable', reason: 'host name not found', retryable: true },
  EAI_AGAIN: { kind: 'Unavailable', reason: 'host name lookup failed temporarily', retryable: true },
  UND_ERR_CLOSED: { kind: 'Unavailable', reason: 'the client is closed', retryable: false },
  UND_ERR_DESTROYED: { kind: 'Unavailable', reason: 'the client is closed', retryable: false },
};

/** A fixed description per error code: library and system messages are not copied. */
function networkFailure(error: unknown): Failure {
  const code = isRecord(error) && typeof error.code === 'string' ? error.code : undefined;
  if (code !== undefined) {
    const known = NETWORK_FAILURES[code];
    if (known !== undefined) return { ...known };
    if (/^[A-Z0-9_]{2,48}$/.test(code)) {
      // Certificate problems do not heal by retrying.
      const tls = code.includes('CERT') || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL');
      return { kind: 'Unavailable', reason: `${tls ? 'TLS' : 'network'} error ${code}`, retryable: !tls };
    }
  }
  return { kind: 'Unavailable', reason: 'network error', retryable: true };
}

class ResponseTooLarge extends Error {}

async function readCapped(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_RESPONSE_BYTES) {
      body.destroy();
      throw new ResponseTooLarge();
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Thrown inside a call when its own deadline fires; told apart from the caller's abort. */
class DeadlineExceeded extends Error {}

/**
 * The Mixpeek Organization Secrets API over one undici Pool.
 *
 * Every attempt takes a token from a bucket shared by all calls. 429 pauses
 * the bucket for Retry-After (so every caller waits, not just this one) and is
 * retried; 5xx, resets and timeouts are retried with full-jitter backoff;
 * every other 4xx is final. Attempts are bounded and a call has a total
 * deadline: a wait that would pass it ends the call now with the last error
 * (its retryAfterMs tells the caller when to come back).
 */
export class MixpeekClient {
  private readonly pool: Pool;
  private readonly pathPrefix: string;
  private readonly apiKey: ApiKeySource;
  private readonly bucket: TokenBucket;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly observer: VaultCallObserver | undefined;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly deadlineMs: number;
  private readonly closing = new AbortController();
  private closed: Promise<void> | undefined;

  constructor(options: MixpeekClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new VaultClientConfigError('InvalidUrl', 'vault URL is not a valid absolute URL (expected something like https://api.mixpeek.com)');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new VaultClientConfigError('InvalidUrl', `vault URL must use https:// (got ${url.protocol}//)`);
    }
    if (url.username !== '' || url.password !== '') {
      throw new VaultClientConfigError('InvalidUrl', 'vault URL must not contain credentials; pass the API key separately');
    }
    if (url.search !== '' || url.hash !== '') {
      throw new VaultClientConfigError('InvalidUrl', 'vault URL must not contain a query or fragment');
    }
    this.log = (options.logger ?? silentLogger()).child({ component: 'mixpeek-client' });
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      if (options.allowInsecureHttp !== true) {
        throw new VaultClientConfigError(
          'InsecureUrl',
          `vault URL ${url.origin} uses plain http to a non-loopback host; use https:// or set the explicit insecure option`,
        );
      }
      this.log.warn({ origin: url.origin }, 'vault URL uses plain http to a non-loopback host: API keys and secret values travel unencrypted');
    }
    this.pathPrefix = url.pathname.replace(/\/+$/, '');

    const retry = options.retry ?? {};
    const maxAttempts = positive('retry.maxAttempts', retry.maxAttempts, 5);
    if (!Number.isInteger(maxAttempts)) {
      throw new VaultClientConfigError('InvalidOption', 'vault client option retry.maxAttempts must be a whole number');
    }
    this.maxAttempts = maxAttempts;
    this.baseDelayMs = positive('retry.baseDelayMs', retry.baseDelayMs, 500, true);
    this.maxDelayMs = positive('retry.maxDelayMs', retry.maxDelayMs, 30_000, true);
    this.deadlineMs = positive('retry.deadlineMs', retry.deadlineMs, 60_000);
    const timeouts = options.timeouts ?? {};
    const connectMs = positive('timeouts.connectMs', timeouts.connectMs, 10_000);
    const headersMs = positive('timeouts.headersMs', timeouts.headersMs, 30_000);
    const bodyMs = positive('timeouts.bodyMs', timeouts.bodyMs, 30_000);

    try {
      this.bucket = new TokenBucket(options.rateLimit ?? { ratePerSecond: 1, burst: 5 });
    } catch (error) {
      throw new VaultClientConfigError('InvalidOption', `vault client ${(error as Error).message}`);
    }
    this.apiKey = options.apiKey;
    this.random = options.random ?? Math.random;
    this.observer = options.observer;
    this.pool = new Pool(url.origin, {
      connections: 8,
      pipelining: 1,
      connectTimeout: connectMs,
      headersTimeout: headersMs,
      bodyTimeout: bodyMs,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
    });
  }

  createSecret(name: string, value: string, opts: CallOptions = {}): Promise<VaultSecretResult> {
    return this.call(
      {
        operation: 'create',
        secretName: name,
        value,
        method: 'POST',
        path: SECRETS_PATH,
        body: { secret_name: name, secret_value: value },
        parse: parseSecretResult,
      },
      opts,
    );
  }

  updateSecret(name: string, value: string, opts: CallOptions = {}): Promise<VaultSecretResult> {
    return this.call(
      {
        operation: 'update',
        secretName: name,
        value,
        method: 'PUT',
        path: `${SECRETS_PATH}/${encodeURIComponent(name)}`,
        body: { secret_value: value },
        parse: parseSecretResult,
      },
      opts,
    );
  }

  deleteSecret(name: string, opts: CallOptions = {}): Promise<VaultSecretResult> {
    return this.call(
      { operation: 'delete', secretName: name, method: 'DELETE', path: `${SECRETS_PATH}/${encodeURIComponent(name)}`, parse: parseSecretResult },
      opts,
    );
  }

  listSecrets(opts: CallOptions = {}): Promise<VaultSecretList> {
    return this.call({ operation: 'list', method: 'GET', path: SECRETS_PATH, parse: parseSecretList }, opts);
  }

  /** Ends calls still waiting for a token or a retry, and closes the connections. */
  close(): Promise<void> {
    if (this.closed === undefined) {
      this.closing.abort(new Error('client closed'));
      this.closed = this.pool.close();
    }
    return this.closed;
  }

  private rejectEarly(spec: CallSpec<unknown>, reason: string, kind: VaultErrorKind = 'Rejected'): VaultError {
    return new VaultError({ kind, operation: spec.operation, reason, retryable: false, ...this.named(spec) });
  }

  private named(spec: CallSpec<unknown>): { secretName?: string } {
    return spec.secretName === undefined ? {} : { secretName: spec.secretName };
  }

  /** Checks done before any request: a bad name or value is the caller's to fix, not the server's. */
  private validate(spec: CallSpec<unknown>): VaultError | undefined {
    if (spec.secretName !== undefined) {
      if (typeof spec.secretName !== 'string') return this.rejectEarly(spec, 'secret name must be a string');
      const length = [...spec.secretName].length;
      if (length < 1 || length > MAX_NAME_LENGTH) {
        return this.rejectEarly(spec, `secret name must be 1-${MAX_NAME_LENGTH} characters, got ${length}`);
      }
    }
    if (spec.body !== undefined && 'secret_value' in spec.body) {
      const value: unknown = spec.value;
      if (typeof value !== 'string') return this.rejectEarly(spec, 'secret value must be a string');
      if (value === '') return this.rejectEarly(spec, 'secret value is empty');
    }
    return undefined;
  }

  private keyFor(spec: CallSpec<unknown>, opts: CallOptions): string | VaultError {
    try {
      return opts.apiKey === undefined ? this.apiKey.current() : checkApiKey(opts.apiKey, 'the call options');
    } catch (error) {
      // ApiKeyError messages name where the key came from, never its content.
      return this.rejectEarly(spec, (error as Error).message, 'Unauthorized');
    }
  }

  private async call<T>(spec: CallSpec<T>, opts: CallOptions): Promise<T> {
    const invalid = this.validate(spec);
    if (invalid !== undefined) throw invalid;

    const deadline = new AbortController();
    const deadlineAt = Date.now() + this.deadlineMs;
    const deadlineTimer = setTimeout(() => deadline.abort(new DeadlineExceeded()), this.deadlineMs);
    const signals = [deadline.signal, this.closing.signal];
    if (opts.signal !== undefined) signals.push(opts.signal);
    const signal = AbortSignal.any(signals);

    let attempts = 0;
    let last: Failure | undefined;
    const finalError = (failure: Failure): VaultError =>
      new VaultError({ operation: spec.operation, ...this.named(spec), ...failure, attempts });

    try {
      for (;;) {
        // A bucket held back past our deadline by someone's 429: say so now instead of waiting to time out.
        const pausedFor = this.bucket.pausedUntil - Date.now();
        if (pausedFor > 0 && Date.now() + pausedFor >= deadlineAt) {
          const limited: Failure =
            last?.kind === 'RateLimited' ? last : { kind: 'RateLimited', reason: 'the vault asked to slow down', retryable: true };
          throw finalError({ ...limited, retryAfterMs: pausedFor });
        }
        await this.bucket.take(signal);
        const key = this.keyFor(spec, opts);
        if (key instanceof VaultError) throw key;

        attempts += 1;
        const started = performance.now();
        let result: AttemptResult<T> | undefined;
        try {
          result = await this.attempt(spec, key, signal, attempts);
        } finally {
          // Also when the attempt was aborted mid-request (no status): it still reached the vault.
          const status = result === undefined ? undefined : result.ok ? 200 : result.failure.status;
          this.observer?.attempted(spec.operation, status, (performance.now() - started) / 1000);
        }
        if (result.ok) return result.value;
        last = result.failure;

        let delayMs: number;
        if (last.kind === 'RateLimited') {
          delayMs = last.retryAfterMs ?? Math.max(MIN_RATE_LIMIT_PAUSE_MS, backoffDelay(attempts, this.baseDelayMs, this.maxDelayMs, this.random));
          // Every caller waits out a 429, not only this one, and also when this call makes no further attempt.
          this.bucket.pauseUntil(Date.now() + delayMs);
        } else {
          delayMs = last.retryAfterMs ?? backoffDelay(attempts, this.baseDelayMs, this.maxDelayMs, this.random);
        }
        if (!last.retryable || attempts >= this.maxAttempts) {
          throw finalError(last.kind === 'RateLimited' ? { ...last, retryAfterMs: delayMs } : last);
        }
        if (Date.now() + delayMs >= deadlineAt) {
          throw finalError({ ...last, retryAfterMs: last.retryAfterMs ?? delayMs });
        }
        this.log.warn(
          { operation: spec.operation, secretName: spec.secretName, status: last.status, kind: last.kind, attempt: attempts, delayMs },
          'vault call failed; retrying',
        );
        // After a 429 the next take() waits out the pause; otherwise sleep the backoff.
        this.observer?.retried(spec.operation);
        if (last.kind !== 'RateLimited') await sleep(delayMs, signal);
      }
    } catch (error) {
      if (error instanceof VaultError) throw error;
      if (opts.signal?.aborted === true || this.closing.signal.aborted) {
        throw finalError({ kind: 'Aborted', reason: this.closing.signal.aborted ? 'the client was closed' : 'aborted by the caller', retryable: false });
      }
      if (deadline.signal.aborted) {
        throw finalError({
          kind: 'Timeout',
          reason: `deadline of ${this.deadlineMs} ms exceeded${last === undefined ? '' : ` (last: ${last.reason})`}`,
          retryable: true,
          ...(last?.status === undefined ? {} : { status: last.status }),
        });
      }
      // Not ours to describe: keep only a fixed text.
      throw finalError({ kind: 'Unavailable', reason: 'unexpected client error', retryable: false });
    } finally {
      clearTimeout(deadlineTimer);
    }
  }

  private async attempt<T>(spec: CallSpec<T>, key: string, signal: AbortSignal, attempt: number): Promise<AttemptResult<T>> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${key}`,
      'user-agent': USER_AGENT,
      accept: 'application/json',
    };
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers['content-type'] = 'application/json';
    }
    let response: Dispatcher.ResponseData;
    try {
      response = await this.pool.request({ path: this.pathPrefix + spec.path, method: spec.method, headers, body: body ?? null, signal });
    } catch (error) {
      if (signal.aborted) throw error;
      return { ok: false, failure: networkFailure(error) };
    }
    const status = response.statusCode;
    let text: string;
    try {
      text = await readCapped(response.body);
    } catch (error) {
      if (signal.aborted) throw error;
      if (error instanceof ResponseTooLarge) {
        return { ok: false, failure: { kind: 'InvalidResponse', reason: `${status} answer larger than ${MAX_RESPONSE_BYTES} bytes`, status, retryable: false } };
      }
      return { ok: false, failure: networkFailure(error) };
    }
    this.log.debug({ operation: spec.operation, secretName: spec.secretName, status, attempt }, 'vault answered');

    if (status >= 200 && status < 300) {
      let answer: unknown;
      try {
        answer = JSON.parse(text);
      } catch {
        answer = undefined;
      }
      const value = spec.parse(answer);
      if (value === undefined) {
        return { ok: false, failure: { kind: 'InvalidResponse', reason: `${status} answer is not the expected JSON shape`, status, retryable: false } };
      }
      return { ok: true, value };
    }
    const retryAfterMs = parseRetryAfter(response.headers['retry-after'], Date.now());
    return { ok: false, failure: failureForStatus(status, mixpeekTypeOf(text, spec.value), retryAfterMs) };
  }
}
