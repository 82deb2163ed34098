import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MixpeekClient,
  USER_AGENT,
  VaultClientConfigError,
  VaultError,
  apiKeyFromValue,
  type MixpeekClientOptions,
} from '../../src/mixpeek/index.js';
import { CapturedLog, createLogger } from '../../src/observability/log.js';
import { mixpeekError, sendJson, startFakeVault, type FakeVault, type Responder } from './fake-vault.js';

const OPERATOR_KEY = 'sk_operator_test_key';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(respond: Responder, options: Partial<MixpeekClientOptions> = {}): Promise<{ vault: FakeVault; client: MixpeekClient }> {
  const vault = await startFakeVault(respond);
  const client = new MixpeekClient({
    baseUrl: vault.url,
    apiKey: apiKeyFromValue(OPERATOR_KEY),
    rateLimit: { ratePerSecond: 1000, burst: 1000 },
    random: () => 0,
    ...options,
  });
  cleanups.push(() => vault.close(), () => client.close());
  return { vault, client };
}

async function failure(promise: Promise<unknown>): Promise<VaultError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VaultError);
  return error as VaultError;
}

describe('MixpeekClient requests and answers', () => {
  it('creates with POST /v1/organizations/secrets and returns the answer typed', async () => {
    const { vault, client } = await setup((_req, res) =>
      sendJson(res, 200, { secret_name: 'stripe_api_key', created: true, updated: null, deleted: null }),
    );
    const result = await client.createSecret('stripe_api_key', 'v-1');
    expect(result).toEqual({ secretName: 'stripe_api_key', created: true, updated: null, deleted: null });
    const [req] = vault.requests;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/v1/organizations/secrets');
    expect(req?.headers.authorization).toBe(`Bearer ${OPERATOR_KEY}`);
    expect(req?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req?.body ?? '')).toEqual({ secret_name: 'stripe_api_key', secret_value: 'v-1' });
  });

  it('sends a User-Agent naming the operator and the version in package.json', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const { vault, client } = await setup((_req, res) => sendJson(res, 200, { secrets: [], count: 0 }));
    await client.listSecrets();
    expect(USER_AGENT).toBe(`mixpeek-secret-operator/${version}`);
    expect(vault.requests[0]?.headers['user-agent']).toBe(USER_AGENT);
  });

  it('updates with PUT on the URL-encoded name and only secret_value in the body', async () => {
    const { vault, client } = await setup((_req, res) =>
      sendJson(res, 200, { secret_name: 'a b/c?d', created: null, updated: true, deleted: null }),
    );
    const result = await client.updateSecret('a b/c?d', 'v-2');
    expect(result).toEqual({ secretName: 'a b/c?d', created: null, updated: true, deleted: null });
    expect(vault.requests[0]?.method).toBe('PUT');
    expect(vault.requests[0]?.url).toBe('/v1/organizations/secrets/a%20b%2Fc%3Fd');
    expect(JSON.parse(vault.requests[0]?.body ?? '')).toEqual({ secret_value: 'v-2' });
  });

  it('deletes with DELETE on the encoded name and no body', async () => {
    const { vault, client } = await setup((_req, res) =>
      sendJson(res, 200, { secret_name: 'ключ', created: null, updated: null, deleted: true }),
    );
    const result = await client.deleteSecret('ключ');
    expect(result.deleted).toBe(true);
    expect(vault.requests[0]?.method).toBe('DELETE');
    expect(vault.requests[0]?.url).toBe(`/v1/organizations/secrets/${encodeURIComponent('ключ')}`);
    expect(vault.requests[0]?.body).toBe('');
  });

  it('lists names and count', async () => {
    const { vault, client } = await setup((_req, res) => sendJson(res, 200, { secrets: ['a', 'b'], count: 2 }));
    await expect(client.listSecrets()).resolves.toEqual({ secrets: ['a', 'b'], count: 2 });
    expect(vault.requests[0]?.method).toBe('GET');
    expect(vault.requests[0]?.url).toBe('/v1/organizations/secrets');
  });

  it('accepts any 2xx', async () => {
    const { client } = await setup((_req, res) =>
      sendJson(res, 201, { secret_name: 'n', created: true, updated: null, deleted: null }),
    );
    await expect(client.createSecret('n', 'v')).resolves.toMatchObject({ created: true });
  });

  it('keeps a path prefix from the base URL', async () => {
    const vault = await startFakeVault((_req, res) => sendJson(res, 200, { secrets: [], count: 0 }));
    const client = new MixpeekClient({ baseUrl: `${vault.url}/proxy/`, apiKey: apiKeyFromValue(OPERATOR_KEY) });
    cleanups.push(() => vault.close(), () => client.close());
    await client.listSecrets();
    expect(vault.requests[0]?.url).toBe('/proxy/v1/organizations/secrets');
  });

  it('uses a per-call API key instead of the operator key for that call only', async () => {
    const { vault, client } = await setup((_req, res) =>
      sendJson(res, 200, { secret_name: 'n', created: null, updated: true, deleted: null }),
    );
    await client.updateSecret('n', 'v', { apiKey: 'sk_tenant_key' });
    await client.updateSecret('n', 'v');
    expect(vault.requests.map((r) => r.headers.authorization)).toEqual(['Bearer sk_tenant_key', `Bearer ${OPERATOR_KEY}`]);
  });

  it('refuses a per-call key that cannot be a header, without sending, and without echoing it', async () => {
    const { vault, client } = await setup((_req, res) => sendJson(res, 200, { secrets: [], count: 0 }));
    const error = await failure(client.listSecrets({ apiKey: 'sk_bad\nkey-material' }));
    expect(error.kind).toBe('Unauthorized');
    expect(error.message).not.toContain('key-material');
    expect(vault.requests).toHaveLength(0);
  });

  it.each([
    ['answer missing secret_name', { created: true }],
    ['flag of the wrong type', { secret_name: 'n', created: 'yes', updated: null, deleted: null }],
    ['not an object', ['n']],
  ])('turns a 2xx with a malformed answer into InvalidResponse (%s)', async (_label, body) => {
    const { client } = await setup((_req, res) => sendJson(res, 200, body));
    const error = await failure(client.createSecret('n', 'v'));
    expect(error.kind).toBe('InvalidResponse');
    expect(error.retryable).toBe(false);
  });

  it('turns a malformed list answer and a non-JSON 2xx into InvalidResponse', async () => {
    const { client } = await setup((_req, res, index) => {
      if (index === 0) sendJson(res, 200, { secrets: ['a', 1], count: 2 });
      else {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>hello</html>');
      }
    });
    expect((await failure(client.listSecrets())).kind).toBe('InvalidResponse');
    expect((await failure(client.listSecrets())).kind).toBe('InvalidResponse');
  });

  it('does not follow redirects (the Authorization header must not travel)', async () => {
    const { vault, client } = await setup((_req, res) => {
      res.writeHead(307, { location: 'http://127.0.0.1:1/elsewhere' });
      res.end();
    });
    const error = await failure(client.listSecrets());
    expect(error.kind).toBe('InvalidResponse');
    expect(vault.requests).toHaveLength(1);
  });
});

describe('MixpeekClient validation before sending', () => {
  it.each([
    ['an empty name', '', 'v'],
    ['a 101-character name', 'x'.repeat(101), 'v'],
    ['an empty value', 'name', ''],
  ])('rejects %s without a request', async (_label, name, value) => {
    const { vault, client } = await setup((_req, res) => sendJson(res, 200, {}));
    const error = await failure(client.updateSecret(name, value));
    expect(error.kind).toBe('Rejected');
    expect(error.retryable).toBe(false);
    expect(error.attempts).toBe(0);
    expect(vault.requests).toHaveLength(0);
  });

  it('accepts a 100-character name', async () => {
    const name = 'n'.repeat(100);
    const { vault, client } = await setup((_req, res) =>
      sendJson(res, 200, { secret_name: name, created: true, updated: null, deleted: null }),
    );
    await client.createSecret(name, 'v');
    expect(vault.requests).toHaveLength(1);
  });
});

describe('MixpeekClient base URL', () => {
  const key = apiKeyFromValue('sk_x');

  it('requires https for a non-loopback host', () => {
    const build = (): MixpeekClient => new MixpeekClient({ baseUrl: 'http://vault.example.com', apiKey: key });
    expect(build).toThrow(VaultClientConfigError);
    expect(build).toThrow(/https/);
  });

  it('accepts https anywhere and plain http on loopback hosts', async () => {
    for (const baseUrl of ['https://api.mixpeek.com', 'http://127.0.0.1:8080', 'http://127.1.2.3', 'http://localhost:9', 'http://[::1]:9']) {
      await new MixpeekClient({ baseUrl, apiKey: key }).close();
    }
  });

  it('allows plain http to a remote host only when asked, and warns once', async () => {
    const out = new CapturedLog();
    const client = new MixpeekClient({
      baseUrl: 'http://vault.example.com',
      apiKey: key,
      allowInsecureHttp: true,
      logger: createLogger({ level: 'debug', destination: out }),
    });
    await client.close();
    const warnings = out.records().filter((r) => r.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]?.msg)).toMatch(/plain http/);
  });

  it.each([
    ['not a URL', 'api.mixpeek.com'],
    ['another scheme', 'ftp://api.mixpeek.com'],
    ['credentials in the URL', 'https://user:pw@api.mixpeek.com'],
    ['a query', 'https://api.mixpeek.com/?x=1'],
  ])('refuses %s with a clear error', (_label, baseUrl) => {
    expect(() => new MixpeekClient({ baseUrl, apiKey: key })).toThrow(VaultClientConfigError);
  });

  it('refuses nonsense retry and rate options', () => {
    expect(() => new MixpeekClient({ baseUrl: 'https://a.b', apiKey: key, retry: { maxAttempts: 0 } })).toThrow(VaultClientConfigError);
    expect(() => new MixpeekClient({ baseUrl: 'https://a.b', apiKey: key, rateLimit: { ratePerSecond: -1, burst: 1 } })).toThrow(
      VaultClientConfigError,
    );
  });
});

describe('MixpeekClient error mapping', () => {
  it.each([
    [401, 'UnauthorizedError', 'Unauthorized'],
    [403, 'UnauthorizedError', 'Forbidden'],
    [404, 'NotFoundError', 'NotFound'],
    [409, 'AlreadyExistsError', 'AlreadyExists'],
    [400, 'BadRequestError', 'Rejected'],
    [413, 'PayloadTooLargeError', 'Rejected'],
    [415, 'UnsupportedMediaTypeError', 'Rejected'],
    [422, 'ValidationError', 'Rejected'],
  ])('maps %i %s to %s, never retried', async (status, type, kind) => {
    const { vault, client } = await setup((_req, res) => mixpeekError(res, status, type));
    const error = await failure(client.createSecret('stripe_api_key', 'v'));
    expect(error).toMatchObject({ kind, status, mixpeekType: type, retryable: false, operation: 'create', secretName: 'stripe_api_key' });
    expect(error.message).toBe(`vault create of "stripe_api_key" failed: ${status} ${type}`);
    expect(vault.requests).toHaveLength(1);
  });

  it('keeps only an identifier-shaped error type', async () => {
    const { client } = await setup((_req, res) =>
      sendJson(res, 404, { success: false, status: 404, error: { message: 'm', type: 'Not Found <b>', details: null } }),
    );
    const error = await failure(client.deleteSecret('n'));
    expect(error.mixpeekType).toBeUndefined();
    expect(error.message).toBe('vault delete of "n" failed: HTTP 404');
  });

  it('maps a FastAPI-style 422 without an envelope to Rejected', async () => {
    const { client } = await setup((_req, res) => sendJson(res, 422, { detail: [{ msg: 'bad' }] }));
    const error = await failure(client.updateSecret('n', 'v'));
    expect(error).toMatchObject({ kind: 'Rejected', status: 422 });
    expect(error.mixpeekType).toBeUndefined();
  });
});
