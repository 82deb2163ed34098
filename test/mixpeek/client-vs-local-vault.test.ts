/**
 * The vault client against the local vault: the two halves of the contract
 * agree on routes, bodies, answers, errors and rate limiting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MixpeekClient, VaultError, apiKeyFromValue } from '../../src/mixpeek/index.js';
import { CapturedLog, createLogger } from '../../src/observability/log.js';
import { startVaultServer, type VaultServer } from '../../src/vault/index.js';

const ADMIN = 'sk_local_admin';
const READER = 'sk_local_read';

async function failure(p: Promise<unknown>): Promise<VaultError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VaultError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

describe('MixpeekClient against the local vault', () => {
  let vault: VaultServer;
  let client: MixpeekClient;
  const clientLog = new CapturedLog();

  beforeAll(async () => {
    vault = await startVaultServer({ port: 0, apiKeys: [{ key: ADMIN, role: 'ADMIN' }, { key: READER, role: 'READ' }] });
    client = new MixpeekClient({
      baseUrl: vault.url,
      apiKey: apiKeyFromValue(ADMIN),
      rateLimit: { ratePerSecond: 1000, burst: 1000 },
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
      logger: createLogger({ level: 'debug', destination: clientLog }),
    });
  });
  afterAll(async () => {
    await client.close();
    await vault.close();
  });

  it('creates, updates, lists and deletes, with the answers typed as the vault gave them', async () => {
    expect(await client.createSecret('round_trip', 'v1')).toEqual({ secretName: 'round_trip', created: true, updated: null, deleted: null });
    expect(vault.plaintext('round_trip')).toBe('v1');
    expect(await client.updateSecret('round_trip', 'v2')).toEqual({ secretName: 'round_trip', created: null, updated: true, deleted: null });
    expect(vault.plaintext('round_trip')).toBe('v2');
    expect(await client.listSecrets()).toEqual({ secrets: ['round_trip'], count: 1 });
    expect(await client.deleteSecret('round_trip')).toEqual({ secretName: 'round_trip', created: null, updated: null, deleted: true });
    expect(vault.names()).not.toContain('round_trip');
  });

  it('maps the vault errors to kinds: 404 NotFound, 409 AlreadyExists, 401 Unauthorized, 403 Forbidden', async () => {
    expect((await failure(client.updateSecret('absent', 'x'))).kind).toBe('NotFound');
    await client.createSecret('twice', 'x');
    expect((await failure(client.createSecret('twice', 'y'))).kind).toBe('AlreadyExists');
    expect((await failure(client.updateSecret('twice', 'z', { apiKey: 'sk_unknown' }))).kind).toBe('Unauthorized');
    expect((await failure(client.updateSecret('twice', 'z', { apiKey: READER }))).kind).toBe('Forbidden');
    expect(vault.plaintext('twice')).toBe('x');
    // READ may list.
    expect((await client.listSecrets({ apiKey: READER })).secrets).toContain('twice');
  });

  it('a 422 reaches the caller as Rejected, not retried, and the value is in no message or log', async () => {
    // The client checks names and values before sending, so a 422 is injected here; redaction.test.ts
    // proves the same against answers that echo the value.
    const value = 'submitted-value-3f9a1c';
    const before = vault.requestCount();
    vault.faults.failNext(1, 422);
    const e = await failure(client.updateSecret('twice', value));
    expect(e.kind).toBe('Rejected');
    expect(vault.requestCount() - before).toBe(1);
    expect(`${e.message} ${e.stack ?? ''} ${JSON.stringify(e)}`).not.toContain(value);
    expect(clientLog.text).not.toContain(value);
  });

  it('honours the local vault rate limit: a 429 whose Retry-After is past the deadline ends the call at once as RateLimited', async () => {
    const limited = await startVaultServer({ port: 0, apiKeys: [{ key: ADMIN, role: 'ADMIN' }], rateLimitPerMinute: 1 });
    const c = new MixpeekClient({ baseUrl: limited.url, apiKey: apiKeyFromValue(ADMIN), retry: { maxAttempts: 2, deadlineMs: 2_000 } });
    try {
      await c.createSecret('limited', 'a');
      await c.updateSecret('limited', 'b');
      // One request a minute per route and key: the second PUT is refused.
      const e = await failure(c.updateSecret('limited', 'c'));
      // Retry-After (up to a minute) is beyond the 2 s deadline: the client says so at once instead of waiting.
      expect(e.kind).toBe('RateLimited');
      expect(e.retryAfterMs).toBeGreaterThan(0);
      expect(limited.plaintext('limited')).toBe('b');
    } finally {
      await c.close();
      await limited.close();
    }
  });
});
