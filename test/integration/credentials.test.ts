/**
 * connectionRef: a tenant's own API key, from a Secret in the CR's namespace,
 * is what the vault sees; a key that may only read, or that the vault does
 * not know, is reported as such without touching anyone else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IT_TIMEOUT, OPERATOR_KEY, readyOf, scanAndClose, startHarness, waitFor, type Harness } from './harness.js';
import type { StoredMixpeekSecret } from '../../src/controller/types.js';

const NS = 'tenant';
const TENANT_ADMIN = 'sk_tenant_admin_7f3c9a';
const TENANT_READ = 'sk_tenant_read_2b8e41';
const UNKNOWN = 'sk_nobody_knows_this_5d1e';

describe('connectionRef credentials', IT_TIMEOUT, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      vaultKeys: [
        { key: OPERATOR_KEY, role: 'ADMIN' },
        { key: TENANT_ADMIN, role: 'ADMIN' },
        { key: TENANT_READ, role: 'READ' },
      ],
    });
    h.remember(UNKNOWN);
    await h.applyCrd();
    await h.createNamespace(NS);
    await h.putSecret(NS, 'conn-admin', { apiKey: TENANT_ADMIN });
    await h.putSecret(NS, 'conn-read', { apiKey: TENANT_READ });
    // A trailing newline, as `echo` leaves it: the key is still usable.
    await h.putSecret(NS, 'conn-unknown', { apiKey: `${UNKNOWN}\n` });
    h.startOperator();
  });
  afterAll(() => scanAndClose(h));

  async function reason(name: string, want: string): Promise<StoredMixpeekSecret> {
    return waitFor(`${name} ${want}`, async () => {
      const c = await h.getMixpeekSecret(NS, name);
      return readyOf(c)?.reason === want ? c : undefined;
    });
  }

  it("the tenant's key, not the operator's, is used for every call", async () => {
    const value = h.secretValue('tenant');
    const rv = await h.putSecret(NS, 'app', { token: value });
    await h.createMixpeekSecret(NS, 'own-key', { secretRef: { name: 'app', key: 'token' }, vaultSecretName: 'tenant_token', connectionRef: { name: 'conn-admin' } });
    const cr = await reason('own-key', 'Created');
    expect(cr.status?.syncedResourceVersion).toBe(rv);
    expect(h.vault.plaintext('tenant_token')).toBe(value);

    const next = h.secretValue('tenant-2');
    const rv2 = await h.putSecret(NS, 'app', { token: next });
    await h.waitSynced(NS, 'own-key', rv2);
    const writes = h.vault.writes().filter((w) => w.name === 'tenant_token');
    expect(writes.length).toBeGreaterThanOrEqual(2);
    expect(writes.every((w) => w.apiKey === TENANT_ADMIN)).toBe(true);
    expect(writes.at(-1)).toMatchObject({ op: 'update', status: 200, value: next });
  });

  it('a READ-only key: Ready=False Forbidden with a Warning event, nothing written', async () => {
    await h.putSecret(NS, 'app-read', { token: h.secretValue('read') });
    await h.createMixpeekSecret(NS, 'read-key', { secretRef: { name: 'app-read', key: 'token' }, vaultSecretName: 'read_token', connectionRef: { name: 'conn-read' } });
    const cr = await reason('read-key', 'Forbidden');
    expect(readyOf(cr)?.status).toBe('False');
    expect(readyOf(cr)?.message).toContain('conn-read');
    await waitFor('Warning Forbidden', async () => (await h.eventsFor(NS, 'read-key')).some((e) => e.type === 'Warning' && e.reason === 'Forbidden'));
    expect(h.vault.plaintext('read_token')).toBeUndefined();
    expect(h.vaultAudit().filter((r) => r.name === 'read_token').every((r) => r.status === 403)).toBe(true);
  });

  it('an unknown key: Ready=False Unauthorized', async () => {
    await h.putSecret(NS, 'app-unknown', { token: h.secretValue('unknown') });
    await h.createMixpeekSecret(NS, 'unknown-key', {
      secretRef: { name: 'app-unknown', key: 'token' },
      vaultSecretName: 'unknown_token',
      connectionRef: { name: 'conn-unknown' },
    });
    const cr = await reason('unknown-key', 'Unauthorized');
    expect(readyOf(cr)?.status).toBe('False');
    await waitFor('Warning Unauthorized', async () => (await h.eventsFor(NS, 'unknown-key')).some((e) => e.type === 'Warning' && e.reason === 'Unauthorized'));
    expect(h.vault.plaintext('unknown_token')).toBeUndefined();
    expect(h.vaultAudit().filter((r) => r.name === 'unknown_token').every((r) => r.status === 401)).toBe(true);
  });

  it("the operator's own key still works beside them", async () => {
    const value = h.secretValue('operator');
    const rv = await h.putSecret(NS, 'app-op', { token: value });
    await h.createMixpeekSecret(NS, 'operator-key', { secretRef: { name: 'app-op', key: 'token' }, vaultSecretName: 'op_token' });
    await h.waitSynced(NS, 'operator-key', rv);
    expect(h.vault.writes().filter((w) => w.name === 'op_token').every((w) => w.apiKey === OPERATOR_KEY)).toBe(true);
    expect(h.vault.plaintext('op_token')).toBe(value);
  });
});
