import { describe, expect, it } from 'vitest';
import type { VaultServer, VaultServerOptions } from '../../src/vault/index.js';
import { vaultsFor } from './vaults.js';
import { call, item, SECRETS, type ErrorEnvelopeShape } from './http.js';

const ADMIN = 'sk_admin_faults';
const ADMIN2 = 'sk_admin_faults_2';
const apiKeys: VaultServerOptions['apiKeys'] = [
  { key: ADMIN, role: 'ADMIN' },
  { key: ADMIN2, role: 'ADMIN' },
];

const start = vaultsFor(apiKeys);

const list = (vault: VaultServer, key = ADMIN) => call(vault.url, 'GET', SECRETS, { key });
const create = (vault: VaultServer, name: string, value = 'v') =>
  call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: name, secret_value: value } });

describe('fault injection (programmatic)', () => {
  it('failNext answers N requests with the status, the envelope and Retry-After, then serves normally', async () => {
    const vault = await start();
    vault.faults.failNext(2, 503, { retryAfterSeconds: 3 });
    for (let i = 0; i < 2; i++) {
      const res = await create(vault, 'f');
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('3');
      expect(res.body).toMatchObject({ success: false, status: 503, error: { type: 'ServiceUnavailableError' } });
    }
    expect(vault.names()).toEqual([]);
    expect((await create(vault, 'f')).status).toBe(200);
    expect(vault.names()).toEqual(['f']);
  });

  it('failNext with a route fails only that operation; 500 and 429 use their envelope types', async () => {
    const vault = await start();
    await create(vault, 'r');
    vault.faults.failNext(1, 500, { route: 'update' });
    expect((await list(vault)).status).toBe(200);
    expect((await create(vault, 'other')).status).toBe(200);
    const failed = await call(vault.url, 'PUT', item('r'), { key: ADMIN, json: { secret_value: 'new' } });
    expect(failed.status).toBe(500);
    expect((failed.body as ErrorEnvelopeShape).error.type).toBe('InternalServerError');
    expect(vault.plaintext('r')).toBe('v');
    expect((await call(vault.url, 'PUT', item('r'), { key: ADMIN, json: { secret_value: 'new' } })).status).toBe(200);

    vault.faults.failNext(1, 429, { retryAfterSeconds: 7 });
    const limited = await list(vault);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect((limited.body as ErrorEnvelopeShape).error.type).toBe('TooManyRequestsError');
  });

  it('an injected 403 or 409 carries the type the vault itself answers with (UnauthorizedError, AlreadyExistsError)', async () => {
    const vault = await start({ apiKeys: [...apiKeys, { key: 'sk_reader_faults', role: 'READ' }] });
    await create(vault, 'taken');
    const real403 = await call(vault.url, 'DELETE', item('taken'), { key: 'sk_reader_faults' });
    const real409 = await create(vault, 'taken');
    vault.faults.failNext(1, 403);
    const injected403 = await list(vault);
    vault.faults.failNext(1, 409);
    const injected409 = await create(vault, 'fresh');
    expect([real403.status, injected403.status, real409.status, injected409.status]).toEqual([403, 403, 409, 409]);
    expect((injected403.body as ErrorEnvelopeShape).error.type).toBe((real403.body as ErrorEnvelopeShape).error.type);
    expect((injected403.body as ErrorEnvelopeShape).error.type).toBe('UnauthorizedError');
    expect((injected409.body as ErrorEnvelopeShape).error.type).toBe((real409.body as ErrorEnvelopeShape).error.type);
    expect((injected409.body as ErrorEnvelopeShape).error.type).toBe('AlreadyExistsError');
  });

  it('setLatency delays every answer until turned off', async () => {
    const vault = await start();
    vault.faults.setLatency(1500);
    // A client that waits 100 ms gives up: the answer cannot come sooner than the latency.
    await expect(call(vault.url, 'GET', SECRETS, { key: ADMIN, signal: AbortSignal.timeout(100) })).rejects.toThrow(
      /timeout|abort/i,
    );
    vault.faults.setLatency(0);
    expect((await list(vault)).status).toBe(200);
  });

  it('resetNextConnections destroys the socket without an answer, then serves normally', async () => {
    const vault = await start();
    vault.faults.resetNextConnections(1);
    await expect(create(vault, 'reset')).rejects.toThrow();
    expect(vault.names()).toEqual([]);
    expect(vault.requestCount()).toBe(1);
    expect((await create(vault, 'reset')).status).toBe(200);
  });

  it('clear() drops pending failures, latency and resets', async () => {
    const vault = await start();
    vault.faults.failNext(5, 500);
    vault.faults.resetNextConnections(5);
    vault.faults.setLatency(60_000);
    vault.faults.clear();
    expect((await list(vault)).status).toBe(200);
  });
});

describe('per-key, per-route rate limit', () => {
  it('is off by default', async () => {
    const vault = await start();
    const answers = await Promise.all(Array.from({ length: 30 }, () => list(vault)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
  });

  it('answers 429 TooManyRequestsError with Retry-After past the limit, per key and per route', async () => {
    const vault = await start({ rateLimitPerMinute: 3 });
    for (let i = 0; i < 3; i++) expect((await list(vault)).status).toBe(200);
    const limited = await list(vault);
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ success: false, status: 429, error: { type: 'TooManyRequestsError' } });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    // One request refills in 60/3 = 20 s.
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20);

    // Another key has its own budget; the same key has its own budget on another route.
    expect((await list(vault, ADMIN2)).status).toBe(200);
    expect((await create(vault, 'per-route')).status).toBe(200);
    expect(vault.names()).toEqual(['per-route']);
  });
});

describe('/_test/ routes', () => {
  it('do not exist without testHooks', async () => {
    const vault = await start();
    await create(vault, 'hidden', 'hidden-value');
    for (const [method, path] of [
      ['POST', '/_test/faults'],
      ['POST', '/_test/reset'],
      ['GET', '/_test/secrets/hidden'],
      ['GET', '/_test/writes'],
    ] as const) {
      const res = await call(vault.url, method, path, method === 'POST' ? { json: { failNext: { count: 1, status: 500 } } } : {});
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ success: false, status: 404, error: { type: 'NotFoundError' } });
      expect(res.text).not.toContain('hidden-value');
    }
    expect((await list(vault)).status).toBe(200);
  });

  it('with testHooks: inject faults, read a plaintext, see the writes, reset', async () => {
    const vault = await start({ testHooks: true });
    const set = await call(vault.url, 'POST', '/_test/faults', {
      json: { failNext: { count: 1, status: 502, route: 'create', retryAfterSeconds: 2 } },
    });
    expect(set.status).toBe(200);
    expect((await list(vault)).status).toBe(200);
    const failed = await create(vault, 'hooked', 'hooked-value');
    expect(failed.status).toBe(502);
    expect(failed.headers.get('retry-after')).toBe('2');
    expect((await create(vault, 'hooked', 'hooked-value')).status).toBe(200);

    const read = await call(vault.url, 'GET', '/_test/secrets/hooked');
    expect(read.body).toEqual({ secret_name: 'hooked', secret_value: 'hooked-value' });
    expect((await call(vault.url, 'GET', '/_test/secrets/absent')).status).toBe(404);

    const writes = await call(vault.url, 'GET', '/_test/writes');
    expect(writes.body).toMatchObject({
      writes: [{ seq: 1, op: 'create', name: 'hooked', value: 'hooked-value', apiKey: ADMIN, status: 200 }],
      requestCount: 3,
    });

    await call(vault.url, 'POST', '/_test/faults', { json: { resetNextConnections: 1 } });
    await expect(list(vault)).rejects.toThrow();
    expect((await list(vault)).status).toBe(200);

    await call(vault.url, 'POST', '/_test/faults', { json: { latencyMs: 3000, failNext: { count: 3, status: 500 } } });
    expect((await call(vault.url, 'POST', '/_test/reset')).status).toBe(200);
    expect((await list(vault)).status).toBe(200);
  });

  it('reject a malformed fault request with 400 and change nothing', async () => {
    const vault = await start({ testHooks: true });
    for (const json of [{ failNext: { count: 'x', status: 500 } }, { failNext: { count: 1, status: 500, route: 'patch' } }, { latencyMs: 'slow' }]) {
      const res = await call(vault.url, 'POST', '/_test/faults', { json });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ success: false, status: 400, error: { type: 'BadRequestError' } });
    }
    expect((await call(vault.url, 'POST', '/_test/faults', { json: { failNext: { count: 1, status: 200 } } })).status).toBe(400);
    expect((await list(vault)).status).toBe(200);
  });
});
