/**
 * Two MixpeekSecrets in different namespaces aim at the same vault name with
 * the operator's key: the older one owns it, the younger one reports Conflict
 * and never calls the vault, and takes over when the owner goes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IT_TIMEOUT, readyOf, scanAndClose, sleep, startHarness, waitFor, type Harness } from './harness.js';

const SHARED = 'shared_token';

describe('conflict between namespaces', IT_TIMEOUT, () => {
  let h: Harness;
  let olderValue: string;
  let youngerValue: string;

  beforeAll(async () => {
    h = await startHarness({ namespaces: ['team-a', 'team-b'] });
    h.startOperator();
  });
  afterAll(() => scanAndClose(h));

  it('the older CR owns the name; the younger gets Conflict naming it and makes no vault call', async () => {
    olderValue = h.secretValue('older');
    youngerValue = h.secretValue('younger');
    const olderRv = await h.putSecret('team-a', 'src', { token: olderValue });
    await h.putSecret('team-b', 'src', { token: youngerValue });
    const older = await h.createMixpeekSecret('team-a', 'owner', { secretRef: { name: 'src', key: 'token' }, vaultSecretName: SHARED });
    await h.waitSynced('team-a', 'owner', olderRv);
    // creationTimestamp has one-second resolution: make "older" unambiguous.
    const ownerCreated = Date.parse(older.metadata.creationTimestamp ?? '');
    await sleep(Math.max(0, ownerCreated + 1_100 - Date.now()));
    await h.createMixpeekSecret('team-b', 'intruder', { secretRef: { name: 'src', key: 'token' }, vaultSecretName: SHARED });

    const cr = await waitFor('intruder in Conflict', async () => {
      const c = await h.getMixpeekSecret('team-b', 'intruder');
      return readyOf(c)?.reason === 'Conflict' ? c : undefined;
    });
    expect(readyOf(cr)?.status).toBe('False');
    expect(readyOf(cr)?.message).toContain('team-a/owner');
    await waitFor('Warning Conflict event', async () => (await h.eventsFor('team-b', 'intruder')).some((e) => e.type === 'Warning' && e.reason === 'Conflict'));

    // The owner keeps its place: rotating its Secret still pushes, and the intruder's value never reached the vault.
    const next = h.secretValue('older-2');
    const rv = await h.putSecret('team-a', 'src', { token: next });
    await h.waitSynced('team-a', 'owner', rv);
    olderValue = next;
    expect(h.vault.plaintext(SHARED)).toBe(olderValue);
    expect(h.vault.writes().some((w) => w.value === youngerValue)).toBe(false);
    // The younger one stays in Conflict, without a push.
    expect(readyOf(await h.getMixpeekSecret('team-b', 'intruder'))?.reason).toBe('Conflict');
  });

  it('deleting the owner hands the name over to the other', async () => {
    const before = h.vault.writes().length;
    await h.deleteMixpeekSecret('team-a', 'owner');
    const cr = await waitFor('intruder took over', async () => {
      const c = await h.getMixpeekSecret('team-b', 'intruder');
      return readyOf(c)?.status === 'True' ? c : undefined;
    });
    expect(readyOf(cr)?.reason).toBe('Synced');
    expect(cr.status?.secretName).toBe(SHARED);
    expect(h.vault.plaintext(SHARED)).toBe(youngerValue);
    const after = h.vault.writes().slice(before);
    expect(after.map((w) => [w.op, w.name, w.status])).toEqual([['update', SHARED, 200]]);
    expect(after[0]?.value).toBe(youngerValue);
  });
});
