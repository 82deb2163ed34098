import { afterEach, describe, expect, it } from 'vitest';
import { MixpeekClient, VaultError, apiKeyFromValue, type MixpeekClientOptions } from '../../src/mixpeek/index.js';
import { CapturedLog, createLogger } from '../../src/observability/log.js';
import { mixpeekError, sendJson, startFakeVault, type FakeVault, type Responder } from './fake-vault.js';

const OK = { secret_name: 'n', created: null, updated: true, deleted: null };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  respond: Responder,
  options: Partial<MixpeekClientOptions> = {},
): Promise<{ vault: FakeVault; client: MixpeekClient; log: CapturedLog }> {
  const vault = await startFakeVault(respond);
  const log = new CapturedLog();
  const client = new MixpeekClient({
    baseUrl: vault.url,
    apiKey: apiKeyFromValue('sk_test'),
    rateLimit: { ratePerSecond: 1000, burst: 1000 },
    random: () => 0,
    logger: createLogger({ level: 'debug', destination: log }),
    ...options,
  });
  cleanups.push(() => vault.close(), () => client.close());
  return { vault, client, log };
}

async function failure(promise: Promise<unknown>): Promise<VaultError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VaultError);
  return error as VaultError;
}

async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Server-side gap between two requests; timers may round by a millisecond or two. */
const SLACK_MS = 25;

describe('429 and Retry-After', () => {
  it('waits the advertised seconds before retrying, then succeeds', async () => {
    const { vault, client, log } = await setup((_req, res, index) =>
      index === 0 ? mixpeekError(res, 429, 'TooManyRequestsError', { 'retry-after': '1' }) : sendJson(res, 200, OK),
    );
    await expect(client.updateSecret('n', 'v')).resolves.toMatchObject({ updated: true });
    expect(vault.requests).toHaveLength(2);
    const [first, second] = vault.requests;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1000 - SLACK_MS);
    const retry = log.records().find((r) => r.msg === 'vault call failed; retrying');
    expect(retry).toMatchObject({ level: 'warn', operation: 'update', secretName: 'n', status: 429, attempt: 1, delayMs: 1000 });
  });

  it('waits until an HTTP-date before retrying', async () => {
    let retryAt = 0;
    const { vault, client } = await setup((req, res, index) => {
      if (index === 0) {
        // A whole second at least 1 s ahead, as HTTP-dates have no milliseconds.
        retryAt = (Math.floor(req.at / 1000) + 2) * 1000;
        mixpeekError(res, 429, 'TooManyRequestsError', { 'retry-after': new Date(retryAt).toUTCString() });
      } else sendJson(res, 200, OK);
    });
    await client.updateSecret('n', 'v');
    expect(vault.requests).toHaveLength(2);
    expect(vault.requests[1]?.at ?? 0).toBeGreaterThanOrEqual(retryAt - SLACK_MS);
  });

  it('holds back other callers too while paused (no retry storm)', async () => {
    const { vault, client, log } = await setup((_req, res, index) =>
      index === 0 ? mixpeekError(res, 429, 'TooManyRequestsError', { 'retry-after': '1' }) : sendJson(res, 200, OK),
    );
    const first = client.updateSecret('n', 'v1');
    // The retry line is written once the 429 has paused the bucket: only then does the second caller arrive.
    await eventually(() => log.text.includes('vault call failed; retrying'));
    const second = client.updateSecret('m', 'v2');
    await Promise.all([first, second]);
    expect(vault.requests).toHaveLength(3);
    const firstAt = vault.requests[0]?.at ?? 0;
    for (const later of vault.requests.slice(1)) expect(later.at - firstAt).toBeGreaterThanOrEqual(1000 - SLACK_MS);
  });

  it('a 429 on the last attempt still holds back the other callers', async () => {
    const { vault, client } = await setup(
      (_req, res, index) => (index === 0 ? mixpeekError(res, 429, 'TooManyRequestsError', { 'retry-after': '1' }) : sendJson(res, 200, OK)),
      { retry: { maxAttempts: 1 } },
    );
    const error = await failure(client.updateSecret('n', 'v1'));
    expect(error).toMatchObject({ kind: 'RateLimited', retryAfterMs: 1000 });
    await client.updateSecret('m', 'v2');
    expect(vault.requests).toHaveLength(2);
    expect((vault.requests[1]?.at ?? 0) - (vault.requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000 - SLACK_MS);
  });

  it('gives up at once with RateLimited and retryAfterMs when Retry-After passes the deadline', async () => {
    const { vault, client } = await setup((_req, res) => mixpeekError(res, 429, 'TooManyRequestsError', { 'retry-after': '120' }), {
      retry: { deadlineMs: 5_000 },
    });
    const error = await failure(client.updateSecret('n', 'v'));
    expect(error).toMatchObject({ kind: 'RateLimited', status: 429, retryable: true, retryAfterMs: 120_000 });
    expect(vault.requests).toHaveLength(1);
    // A second caller sees the pause and does not send at all.
    const next = await failure(client.updateSecret('m', 'v'));
    expect(next.kind).toBe('RateLimited');
    expect(next.retryAfterMs).toBeGreaterThan(100_000);
    expect(vault.requests).toHaveLength(1);
  });
});

describe('retries of transient failures', () => {
  it('retries 5xx with backoff, then succeeds', async () => {
    const { vault, client } = await setup((_req, res, index) =>
      index < 2 ? mixpeekError(res, 503, 'ServiceUnavailableError') : sendJson(res, 200, OK),
    );
    await expect(client.updateSecret('n', 'v')).resolves.toMatchObject({ updated: true });
    expect(vault.requests).toHaveLength(3);
  });

  it('retries a connection reset, then succeeds', async () => {
    const { vault, client } = await setup((_req, res, index) => {
      if (index === 0) res.socket?.destroy();
      else sendJson(res, 200, OK);
    });
    await expect(client.updateSecret('n', 'v')).resolves.toMatchObject({ updated: true });
    expect(vault.requests).toHaveLength(2);
  });

  it('reports a refused connection as Unavailable after retrying it', async () => {
    const { vault, client } = await setup((_req, res) => sendJson(res, 200, OK), { retry: { maxAttempts: 2 } });
    await vault.close();
    const error = await failure(client.listSecrets());
    expect(error).toMatchObject({ kind: 'Unavailable', retryable: true, attempts: 2 });
    expect(error.message).toBe('vault list failed: connection refused (after 2 attempts)');
  });

  it('retries a headers timeout, and ends with a Timeout error after maxAttempts', async () => {
    const { vault, client } = await setup(
      () => {
        /* never answers */
      },
      { timeouts: { headersMs: 500 }, retry: { maxAttempts: 3 } },
    );
    const error = await failure(client.updateSecret('n', 'v'));
    expect(error).toMatchObject({ kind: 'Timeout', retryable: true, attempts: 3 });
    expect(error.message).toBe('vault update of "n" failed: timed out waiting for the response headers (after 3 attempts)');
    expect(vault.requests).toHaveLength(3);
  });

  it('bounds the attempts and reports the last failure', async () => {
    const { vault, client } = await setup((_req, res) => mixpeekError(res, 500, 'InternalServerError'), { retry: { maxAttempts: 4 } });
    const error = await failure(client.deleteSecret('n'));
    expect(error).toMatchObject({ kind: 'Unavailable', status: 500, mixpeekType: 'InternalServerError', retryable: true, attempts: 4 });
    expect(vault.requests).toHaveLength(4);
  });

  it('defaults to 5 attempts', async () => {
    const { vault, client } = await setup((_req, res) => mixpeekError(res, 502, 'BadGateway'));
    expect((await failure(client.listSecrets())).attempts).toBe(5);
    expect(vault.requests).toHaveLength(5);
  });

  it.each([400, 401, 403, 404, 409, 413, 415, 422])('never retries %i', async (status) => {
    const { vault, client } = await setup((_req, res) => mixpeekError(res, status, 'SomeError'));
    await failure(client.updateSecret('n', 'v'));
    expect(vault.requests).toHaveLength(1);
  });

  it('stops at the total deadline while a request hangs', async () => {
    const { vault, client } = await setup(
      () => {
        /* never answers */
      },
      { retry: { deadlineMs: 1_000 }, timeouts: { headersMs: 30_000 } },
    );
    const error = await failure(client.updateSecret('n', 'v'));
    expect(error.kind).toBe('Timeout');
    expect(error.message).toMatch(/deadline of 1000 ms exceeded/);
    expect(vault.requests).toHaveLength(1);
  });

  it('does not start a backoff that would end past the deadline', async () => {
    const { vault, client } = await setup((_req, res) => mixpeekError(res, 503, 'ServiceUnavailableError'), {
      random: () => 0.99,
      retry: { baseDelayMs: 20_000, deadlineMs: 2_000 },
    });
    const error = await failure(client.updateSecret('n', 'v'));
    expect(error).toMatchObject({ kind: 'Unavailable', status: 503, attempts: 1 });
    expect(error.retryAfterMs).toBeGreaterThan(2_000);
    expect(vault.requests).toHaveLength(1);
  });

  it('takes a token for every attempt', async () => {
    // Burst 2 at 1 token per 10 minutes: two attempts pass, the third waits for a token past the deadline.
    const { vault, client } = await setup((_req, res) => mixpeekError(res, 503, 'ServiceUnavailableError'), {
      rateLimit: { ratePerSecond: 1 / 600, burst: 2 },
      retry: { deadlineMs: 1_500 },
    });
    const error = await failure(client.updateSecret('n', 'v'));
    expect(error.kind).toBe('Timeout');
    expect(vault.requests).toHaveLength(2);
  });
});

describe('aborting', () => {
  it('aborts a call waiting in the bucket without sending it', async () => {
    const { vault, client } = await setup((_req, res) => sendJson(res, 200, OK), { rateLimit: { ratePerSecond: 1 / 600, burst: 1 } });
    await client.updateSecret('n', 'v');
    const controller = new AbortController();
    const waiting = client.updateSecret('n', 'v2', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await failure(waiting);
    expect(error).toMatchObject({ kind: 'Aborted', retryable: false });
    expect(vault.requests).toHaveLength(1);
  });

  it('aborts a call sleeping in backoff', async () => {
    const { vault, client } = await setup((_req, res) => mixpeekError(res, 503, 'ServiceUnavailableError'), {
      random: () => 0.99,
      retry: { baseDelayMs: 20_000, deadlineMs: 60_000 },
    });
    const controller = new AbortController();
    const call = client.updateSecret('n', 'v', { signal: controller.signal });
    await vault.waitForRequests(1);
    setTimeout(() => controller.abort(), 50);
    const error = await failure(call);
    expect(error.kind).toBe('Aborted');
    expect(error.attempts).toBe(1);
    expect(vault.requests).toHaveLength(1);
  });

  it('aborts an in-flight request', async () => {
    const { vault, client } = await setup(() => {
      /* never answers */
    });
    const controller = new AbortController();
    const call = client.listSecrets({ signal: controller.signal });
    await vault.waitForRequests(1);
    controller.abort();
    expect((await failure(call)).kind).toBe('Aborted');
  });

  it('close() ends calls still waiting', async () => {
    const { client } = await setup((_req, res) => sendJson(res, 200, OK), { rateLimit: { ratePerSecond: 1 / 600, burst: 1 } });
    await client.updateSecret('n', 'v');
    const waiting = failure(client.updateSecret('n', 'v'));
    await client.close();
    expect((await waiting).kind).toBe('Aborted');
  });
});
