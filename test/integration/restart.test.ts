/**
 * A restart (new pod, rollout, crash) with everything already in sync must be
 * invisible: the new process reconciles every CR, repeatedly (resync), and
 * calls neither the vault nor the API server's write endpoints.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IT_TIMEOUT, readyOf, scanAndClose, startHarness, waitFor, type Harness } from './harness.js';
import { FINALIZER } from '../../src/controller/types.js';

const NS = 'restart';
const CRS = ['alpha', 'beta', 'gamma'];

describe('restart with everything synced', IT_TIMEOUT, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ namespaces: [NS] });
  });
  afterAll(() => scanAndClose(h));

  it('costs zero vault calls and zero status writes, through several resyncs', async () => {
    const first = h.startOperator();
    const rvs = new Map<string, string>();
    for (const [i, name] of CRS.entries()) {
      rvs.set(name, await h.putSecret(NS, `${name}-src`, { token: h.secretValue(name) }));
      await h.createMixpeekSecret(NS, name, {
        secretRef: { name: `${name}-src`, key: 'token' },
        vaultSecretName: `${name}_token`,
        ...(i === 0 && { deletionPolicy: 'Delete' }),
      });
    }
    // One that waits for its Secret: Ready=False, and that must not churn either.
    await h.createMixpeekSecret(NS, 'waiting', { secretRef: { name: 'absent', key: 'token' }, vaultSecretName: 'waiting_token' });
    for (const name of CRS) {
      await waitFor(`${name} synced`, async () => {
        const c = await h.getMixpeekSecret(NS, name);
        return c?.status?.syncedResourceVersion === rvs.get(name) && readyOf(c)?.status === 'True';
      });
    }
    await waitFor('alpha finalizer', async () => (await h.getMixpeekSecret(NS, 'alpha'))?.metadata.finalizers?.includes(FINALIZER));
    await waitFor('waiting blocked', async () => readyOf(await h.getMixpeekSecret(NS, 'waiting'))?.reason === 'SecretNotFound');
    expect(await first.stop()).toBe(0);
    // After the stop: it drains, so the Warning for 'waiting' (emitted after its status write) is in by now.
    const eventsBefore = (await h.events(NS)).length;

    h.sim.counters.reset();
    const vaultRequests = h.vault.requestCount();
    const second = h.startOperator({ resyncPeriodMs: 1_000 });
    // Every CR reconciled at start and again after at least two resyncs.
    for (const name of [...CRS, 'waiting']) {
      await waitFor(`${name} reconciled three times`, () => second.reconciles(NS, name).length >= 3);
    }
    for (const name of CRS) expect(second.reconciles(NS, name).every((r) => r.outcome === 'UpToDate')).toBe(true);
    expect(second.reconciles(NS, 'waiting').every((r) => r.outcome === 'Blocked')).toBe(true);

    expect(h.vault.requestCount()).toBe(vaultRequests);
    expect(h.sim.counters.get('patch', 'mixpeeksecrets/status')).toBe(0);
    expect(h.sim.counters.get('update', 'mixpeeksecrets/status')).toBe(0);
    expect(h.sim.counters.get('patch', 'mixpeeksecrets')).toBe(0);
    expect(h.sim.counters.get('create', 'events')).toBe(0);
    // Not even a full Secret read: the metadata cache decides "already synced".
    expect(h.sim.counters.get('get', 'secrets')).toBe(0);
    expect((await h.events(NS)).length).toBe(eventsBefore);

    // Still alive: the next rotation goes through the new process.
    const value = h.secretValue('after-restart');
    const rv = await h.putSecret(NS, 'beta-src', { token: value });
    await h.waitSynced(NS, 'beta', rv);
    expect(h.vault.plaintext('beta_token')).toBe(value);
  });
});
