/**
 * Two replicas with leader election: only the leader reconciles, so the
 * vault sees each value once; when the leader stops, the standby (whose
 * caches are already warm) takes over and pushes the next rotation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IT_TIMEOUT, readyOf, scanAndClose, startHarness, waitFor, type Harness, type RunningOperator } from './harness.js';
import type { OperatorConfig } from '../../src/operator/operator.js';

const NS = 'ha';
// Production-like timings: stop() releases the lease, so failover takes one retry period, not a lease duration.
const ELECTION: Partial<OperatorConfig> = {
  leaderElection: { namespace: 'default', name: 'x', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
};

describe('leader election', IT_TIMEOUT, () => {
  let h: Harness;
  let a: RunningOperator;
  let b: RunningOperator;

  beforeAll(async () => {
    h = await startHarness({ namespaces: [NS] });
    a = h.startOperator(ELECTION);
    b = h.startOperator(ELECTION);
  });
  afterAll(() => scanAndClose(h));

  const leads = (o: RunningOperator): boolean => o.records('became the leader').length > 0;

  async function rotate(label: string): Promise<string> {
    const value = h.secretValue(label);
    const rv = await h.putSecret(NS, 'src', { token: value });
    await waitFor(`${label} synced`, async () => {
      const c = await h.getMixpeekSecret(NS, 'app');
      return c?.status?.syncedResourceVersion === rv && readyOf(c)?.status === 'True';
    });
    expect(h.vault.plaintext('app_token')).toBe(value);
    return value;
  }

  const timesWritten = (value: string): number => h.vault.writes().filter((w) => w.value === value && w.status === 200).length;

  it('one leader; only it reconciles; each value reaches the vault once', async () => {
    await waitFor('a leader', () => leads(a) || leads(b));
    const [leader, standby] = leads(a) ? [a, b] : [b, a];
    expect(leads(standby)).toBe(false);
    const lease = h.sim.store.get('leases.coordination.k8s.io', 'default', 'x') as { spec?: { holderIdentity?: string } } | undefined;
    expect(lease?.spec?.holderIdentity).toBe(leader.records('operator started')[0]?.identity);

    const first = h.secretValue('first');
    const rv = await h.putSecret(NS, 'src', { token: first });
    await h.createMixpeekSecret(NS, 'app', { secretRef: { name: 'src', key: 'token' }, vaultSecretName: 'app_token' });
    await h.waitSynced(NS, 'app', rv);
    const second = await rotate('second');

    expect(leader.reconciles(NS, 'app').length).toBeGreaterThan(0);
    expect(standby.reconciles(NS, 'app')).toEqual([]);
    expect(standby.records('pushed to the vault')).toEqual([]);
    expect(timesWritten(first)).toBe(1);
    expect(timesWritten(second)).toBe(1);
  });

  it('stopping the leader: the standby takes over and pushes the next rotation', async () => {
    const [leader, standby] = leads(a) ? [a, b] : [b, a];
    expect(await leader.stop()).toBe(0);
    expect(leader.records('released the lease').length).toBe(1);
    await waitFor('standby leads', () => leads(standby));
    const third = await rotate('third');
    expect(standby.records('pushed to the vault').length).toBeGreaterThan(0);
    expect(timesWritten(third)).toBe(1);
    // The old leader pushed nothing after it stopped.
    expect(leader.records('pushed to the vault').length).toBe(2);
  });
});
