/**
 * The main path, end to end: a MixpeekSecret is created and its Secret's key
 * lands in the vault; the Secret rotates and the vault follows, with the
 * status and Events saying so; a burst of rotations never lets an older value
 * overwrite a newer one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IT_TIMEOUT, readyOf, scanAndClose, scanForLeaks, startHarness, waitFor, type Harness } from './harness.js';
import type { StoredMixpeekSecret } from '../../src/controller/types.js';

const NS = 'payments';

describe('sync: create, rotate, burst', IT_TIMEOUT, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ namespaces: [NS] });
    h.startOperator();
  });
  afterAll(() => scanAndClose(h));

  async function syncedAt(name: string, rv: string): Promise<StoredMixpeekSecret> {
    return waitFor(`${name} synced at ${rv}`, async () => {
      const cr = await h.getMixpeekSecret(NS, name);
      return cr?.status?.syncedResourceVersion === rv && readyOf(cr)?.status === 'True' ? cr : undefined;
    });
  }

  it('create: pushes the value, records the vault answer in the status, emits a Normal event', async () => {
    const value = h.secretValue('create');
    const before = Date.now();
    const rv = await h.putSecret(NS, 'stripe-credentials', { 'api-key': value });
    const created = await h.createMixpeekSecret(NS, 'stripe', { secretRef: { name: 'stripe-credentials', key: 'api-key' }, vaultSecretName: 'stripe_api_key' });
    const cr = await syncedAt('stripe', rv);
    const after = Date.now();

    expect(h.vault.plaintext('stripe_api_key')).toBe(value);
    // PUT first (404: not there yet), then POST with createIfMissing.
    const writes = h.vault.writes().filter((w) => w.name === 'stripe_api_key');
    expect(writes.map((w) => [w.op, w.status])).toEqual([
      ['update', 404],
      ['create', 200],
    ]);
    expect(writes[1]?.value).toBe(value);

    const status = cr.status ?? {};
    // The vault answered {secret_name: "stripe_api_key", created: true, updated: null}.
    expect(status.secretName).toBe('stripe_api_key');
    expect(status.updated ?? null).toBeNull();
    expect(status.syncedResourceVersion).toBe(rv);
    expect(status.observedGeneration).toBe(created.metadata.generation);
    const lastSync = Date.parse(status.lastSyncTime ?? '');
    // RFC 3339 to the second: compare at that precision.
    expect(lastSync).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(lastSync).toBeLessThanOrEqual(after);
    expect(readyOf(cr)).toMatchObject({ status: 'True', reason: 'Created', observedGeneration: created.metadata.generation });

    const events = await waitFor('a Created event', async () => {
      const e = await h.eventsFor(NS, 'stripe');
      return e.some((x) => x.reason === 'Created') ? e : undefined;
    });
    const ev = events.find((x) => x.reason === 'Created');
    expect(ev?.type).toBe('Normal');
    expect(ev?.message).toContain('stripe_api_key');
  });

  it('rotate: PUTs the new value, status says Synced with updated true, emits an event', async () => {
    const first = await h.getMixpeekSecret(NS, 'stripe');
    const firstReady = readyOf(first) as { lastTransitionTime?: string } | undefined;
    const value = h.secretValue('rotate');
    const writesBefore = h.vault.writes().length;
    const rv = await h.putSecret(NS, 'stripe-credentials', { 'api-key': value });
    const cr = await syncedAt('stripe', rv);

    expect(h.vault.plaintext('stripe_api_key')).toBe(value);
    const newWrites = h.vault.writes().slice(writesBefore);
    expect(newWrites.map((w) => [w.op, w.name, w.status])).toEqual([['update', 'stripe_api_key', 200]]);
    expect(newWrites[0]?.value).toBe(value);
    expect(newWrites[0]?.apiKey).toBe('sk_operator_admin_key');

    expect(cr.status?.secretName).toBe('stripe_api_key');
    expect(cr.status?.updated).toBe(true);
    expect(readyOf(cr)).toMatchObject({ status: 'True', reason: 'Synced' });
    // Ready stayed True: its lastTransitionTime does not move.
    expect((readyOf(cr) as { lastTransitionTime?: string }).lastTransitionTime).toBe(firstReady?.lastTransitionTime);
    expect(Date.parse(cr.status?.lastSyncTime ?? '')).toBeGreaterThanOrEqual(Date.parse(first?.status?.lastSyncTime ?? ''));

    const synced = await waitFor('a Synced event', async () => {
      const e = (await h.eventsFor(NS, 'stripe')).filter((x) => x.reason === 'Synced');
      return e.length > 0 ? e : undefined;
    });
    expect(synced.every((x) => x.type === 'Normal')).toBe(true);
    expect(synced[0]?.message).toContain(`resourceVersion ${rv}`);
  });

  it('50 rotations in quick succession: the vault ends with the last and never goes back', async () => {
    const values = Array.from({ length: 51 }, (_, i) => h.secretValue(`burst${i}`));
    const rank = new Map(values.map((v, i) => [v, i]));
    const rv0 = await h.putSecret(NS, 'burst-credentials', { token: values[0] ?? '' });
    await h.createMixpeekSecret(NS, 'burst', { secretRef: { name: 'burst-credentials', key: 'token' }, vaultSecretName: 'burst_token' });
    await syncedAt('burst', rv0);

    let lastRv = rv0;
    for (let i = 1; i <= 50; i++) lastRv = await h.putSecret(NS, 'burst-credentials', { token: values[i] ?? '' });
    await syncedAt('burst', lastRv);
    expect(h.vault.plaintext('burst_token')).toBe(values[50]);

    const ranks = h.vault
      .writes()
      .filter((w) => w.name === 'burst_token' && w.value !== undefined && w.status === 200)
      .map((w) => rank.get(w.value ?? ''));
    expect(ranks.every((r) => r !== undefined)).toBe(true);
    // Strictly increasing: never an older value after a newer one, never the same value twice.
    for (let i = 1; i < ranks.length; i++) expect(ranks[i] as number).toBeGreaterThan(ranks[i - 1] as number);
    expect(ranks.at(-1)).toBe(50);
  });

  it('the leak scan itself finds a planted value in an event, a noted error and the base64 form', async () => {
    const planted = h.secretValue('planted');
    const index = [...h.radioactive].indexOf(planted);
    expect(await scanForLeaks(h)).toEqual([]);

    const event = await h.core.createNamespacedEvent({
      namespace: NS,
      body: { metadata: { generateName: 'plant.', namespace: NS }, involvedObject: { kind: 'Pod', name: 'x', namespace: NS }, message: `oops ${planted}` },
    });
    h.noteError(new Error(`failed with ${Buffer.from(planted).toString('base64')}`));
    // Inside a larger base64 blob, one byte in: none of the unshifted forms appear.
    h.noteError(new Error(`blob ${Buffer.from(`{${planted}}`).toString('base64')}`));
    // The random part of a secretValue() alone.
    h.noteError(new Error(`tail ${planted.slice(-12)}`));
    try {
      const leaks = await scanForLeaks(h);
      const found = leaks.filter((l) => l.value === index).map((l) => [l.where.split(' ')[0], l.encoding]);
      expect(found).toContainEqual(['events', 'plain']);
      expect(found).toContainEqual(['noted', 'base64']);
      expect(found).toContainEqual(['noted', 'base64+1']);
      expect(found.every(([where]) => where === 'events' || where === 'noted')).toBe(true);
      const suffixFound = leaks.filter((l) => l.value === index + 1 && l.encoding === 'plain').map((l) => l.where.split(' ')[0]);
      expect(suffixFound.sort()).toEqual(['events', 'noted']);
    } finally {
      await h.core.deleteNamespacedEvent({ namespace: NS, name: event.metadata?.name ?? '' });
      h.errors.splice(-3);
    }
    // The scan keeps every object it ever saw, the deleted Event too: the planted value must go instead.
    expect((await scanForLeaks(h)).some((l) => l.where.startsWith('events'))).toBe(true);
    h.forget(planted);
    expect(await scanForLeaks(h)).toEqual([]);
  });
});
