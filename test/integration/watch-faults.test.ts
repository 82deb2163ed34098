/**
 * The API server drops the operator's watches in every way it can: a clean
 * end, a dead socket, 410 Gone (HTTP and in-stream) with the history
 * compacted. After each, a rotation still reaches the vault.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IT_TIMEOUT, readyOf, scanAndClose, startHarness, waitFor, type Harness } from './harness.js';
import type { ExpiredMode } from '../kube-sim/index.js';

const NS = 'watches';

describe('watch faults', IT_TIMEOUT, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ namespaces: [NS] });
    h.startOperator();
    const rv = await h.putSecret(NS, 'src', { token: h.secretValue('initial') });
    await h.createMixpeekSecret(NS, 'app', { secretRef: { name: 'src', key: 'token' }, vaultSecretName: 'watched_token' });
    await h.waitSynced(NS, 'app', rv);
    await waitFor('both watches open', () => h.sim.faults.openWatches() >= 2);
  });
  afterAll(() => scanAndClose(h));

  /** On a timeout, say what the reflectors last did: a hang here is hard to reproduce. */
  async function explained<T>(wait: Promise<T>): Promise<T> {
    try {
      return await wait;
    } catch (e) {
      const recent = (h.operators[0]?.log.records() ?? [])
        .filter((r) => r.component === 'reflector')
        .slice(-10)
        .map((r) => `${String(r.time)} ${String(r.path)} ${String(r.msg)} ${JSON.stringify(r.err ?? r.reason ?? '')}`);
      throw new Error(`${e instanceof Error ? e.message : String(e)}; open watches ${h.sim.faults.openWatches()}; reflector log:\n${recent.join('\n')}`);
    }
  }

  async function rotateAndWait(label: string): Promise<void> {
    const value = h.secretValue(label);
    const rv = await h.putSecret(NS, 'src', { token: value });
    await explained(
      waitFor(`${label} pushed`, async () => {
        const c = await h.getMixpeekSecret(NS, 'app');
        return c?.status?.syncedResourceVersion === rv && readyOf(c)?.status === 'True';
      }),
    );
    expect(h.vault.plaintext('watched_token')).toBe(value);
  }

  function relists(): number {
    return h.operators[0]?.records('watch answered 410 Gone; relisting').length ?? 0;
  }

  it('watches closed cleanly', async () => {
    expect(h.sim.faults.closeWatches()).toBeGreaterThanOrEqual(2);
    await rotateAndWait('after-close');
  });

  it('watch sockets destroyed', async () => {
    await explained(waitFor('watches reopened', () => h.sim.faults.openWatches() >= 2));
    expect(h.sim.faults.destroyWatchSockets()).toBeGreaterThanOrEqual(2);
    await rotateAndWait('after-destroy');
  });

  for (const mode of ['http', 'event'] as ExpiredMode[]) {
    it(`410 Gone as ${mode} with the history compacted`, async () => {
      await explained(waitFor('watches reopened', () => h.sim.faults.openWatches() >= 2));
      const before = relists();
      // A rotation the operator has not seen yet, then the history that held it is gone.
      const value = h.secretValue(`gone-${mode}`);
      h.sim.faults.expireNextWatch(mode, 'secrets');
      h.sim.faults.expireNextWatch(mode, 'mixpeeksecrets');
      h.sim.faults.closeWatches();
      const rv = await h.putSecret(NS, 'src', { token: value });
      h.sim.faults.compactHistory();
      await explained(waitFor(`pushed after 410 (${mode})`, async () => (await h.getMixpeekSecret(NS, 'app'))?.status?.syncedResourceVersion === rv));
      expect(h.vault.plaintext('watched_token')).toBe(value);
      // Both reflectors went through the relist path.
      await explained(waitFor('relisted', () => relists() >= before + 2));
      // And they keep working afterwards.
      await rotateAndWait(`after-gone-${mode}`);
    });
  }
});
