import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IT_TIMEOUT, readyOf, scanAndClose, startHarness, waitFor, type Harness } from './harness.js';

describe('operator smoke', IT_TIMEOUT, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ namespaces: ['payments'] });
  });
  afterAll(() => scanAndClose(h));

  it('creates then updates', async () => {
    const rv1 = await h.putSecret('payments', 'stripe-credentials', { 'api-key': 'value-one-abc' });
    await h.createMixpeekSecret('payments', 'stripe', { secretRef: { name: 'stripe-credentials', key: 'api-key' }, vaultSecretName: 'stripe_api_key' });
    h.startOperator();
    const cr = await waitFor('synced', async () => {
      const c = await h.getMixpeekSecret('payments', 'stripe');
      return c?.status?.syncedResourceVersion === rv1 ? c : undefined;
    });
    expect(readyOf(cr)).toMatchObject({ status: 'True', reason: 'Created' });
    expect(h.vault.plaintext('stripe_api_key')).toBe('value-one-abc');
    const rv2 = await h.putSecret('payments', 'stripe-credentials', { 'api-key': 'value-two-def' });
    await h.waitSynced('payments', 'stripe', rv2);
    expect(h.vault.plaintext('stripe_api_key')).toBe('value-two-def');
  });
});
