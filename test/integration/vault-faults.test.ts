/**
 * The vault misbehaves: a 429 with Retry-After, a few 500s, a long outage.
 * The operator waits as asked, retries, reports what it could not do, and
 * converges once the vault is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IT_TIMEOUT, readyOf, scanAndClose, startHarness, waitFor, type Harness } from './harness.js';

const NS = 'faults';

describe('vault faults', IT_TIMEOUT, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ namespaces: [NS] });
    h.startOperator();
    const rv = await h.putSecret(NS, 'src', { token: h.secretValue('initial') });
    await h.createMixpeekSecret(NS, 'app', { secretRef: { name: 'src', key: 'token' }, vaultSecretName: 'app_token' });
    await h.waitSynced(NS, 'app', rv);
  });
  afterAll(() => scanAndClose(h));

  async function rotateAndWait(label: string, timeoutMs?: number): Promise<string> {
    const value = h.secretValue(label);
    const rv = await h.putSecret(NS, 'src', { token: value });
    await waitFor(
      `${label} synced`,
      async () => {
        const c = await h.getMixpeekSecret(NS, 'app');
        return c?.status?.syncedResourceVersion === rv && readyOf(c)?.status === 'True';
      },
      timeoutMs,
    );
    expect(h.vault.plaintext('app_token')).toBe(value);
    return value;
  }

  it('429 with Retry-After: 1 → the retry waits at least that long, then syncs', async () => {
    const auditBefore = h.vaultAudit().length;
    h.vault.faults.failNext(1, 429, { retryAfterSeconds: 1 });
    await rotateAndWait('after-429');
    const audit = h.vaultAudit().slice(auditBefore);
    const limited = audit.findIndex((r) => r.status === 429 && r.outcome === 'injected');
    expect(limited).toBeGreaterThanOrEqual(0);
    const retry = audit.slice(limited + 1).find((r) => r.name === 'app_token');
    expect(retry?.status).toBe(200);
    // Vault-side times (pino's, millisecond resolution): the retry arrived no sooner than Retry-After.
    expect((retry?.time ?? 0) - (audit[limited]?.time ?? 0)).toBeGreaterThanOrEqual(1_000 - 2);
  });

  it('500s then success: retried and synced', async () => {
    const auditBefore = h.vaultAudit().length;
    h.vault.faults.failNext(2, 500);
    await rotateAndWait('after-500');
    const statuses = h.vaultAudit()
      .slice(auditBefore)
      .map((r) => r.status);
    expect(statuses.slice(0, 3)).toEqual([500, 500, 200]);
  });

  it('vault down: Ready=False VaultUnavailable with a Warning event, then recovery', async () => {
    h.vault.faults.failNext(100_000, 503);
    const value = h.secretValue('during-outage');
    const rv = await h.putSecret(NS, 'src', { token: value });
    const cr = await waitFor('VaultUnavailable', async () => {
      const c = await h.getMixpeekSecret(NS, 'app');
      return readyOf(c)?.reason === 'VaultUnavailable' ? c : undefined;
    });
    expect(readyOf(cr)?.status).toBe('False');
    expect(readyOf(cr)?.message).toContain('app_token');
    await waitFor('Warning VaultUnavailable', async () => (await h.eventsFor(NS, 'app')).some((e) => e.type === 'Warning' && e.reason === 'VaultUnavailable'));

    h.vault.faults.clear();
    const back = await waitFor(
      'recovered',
      async () => {
        const c = await h.getMixpeekSecret(NS, 'app');
        return c?.status?.syncedResourceVersion === rv && readyOf(c)?.status === 'True' ? c : undefined;
      },
      30_000,
    );
    expect(readyOf(back)?.reason).toBe('Synced');
    expect(h.vault.plaintext('app_token')).toBe(value);
  });
});
