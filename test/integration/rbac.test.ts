/**
 * The operator running as its service account, bound by nothing but the
 * shipped deploy/base/rbac.yaml (applied with kubectl, as a user would):
 * leader election, create, rotate and delete-with-finalizer all work, and the
 * API server never answers 403.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IT_TIMEOUT, readyOf, scanAndClose, startHarness, waitFor, type Harness, type RunningOperator } from './harness.js';
import { FINALIZER } from '../../src/controller/types.js';

const run = promisify(execFile);
const NS = 'shop';
const manifest = (name: string): string => fileURLToPath(new URL(`../../deploy/base/${name}`, import.meta.url));

const kubectlMissing = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status !== 0;

describe.skipIf(kubectlMissing)(kubectlMissing ? 'the shipped RBAC is enough (skipped: kubectl is not on PATH)' : 'the shipped RBAC is enough', IT_TIMEOUT, () => {
  let h: Harness;
  let op: RunningOperator;

  beforeAll(async () => {
    h = await startHarness({ namespaces: [NS] });
    const home = join(h.dir, 'home');
    await mkdir(home);
    // Async on purpose: the simulator answering kubectl lives in this process.
    await run('kubectl', ['apply', '-f', manifest('namespace.yaml'), '-f', manifest('serviceaccount.yaml'), '-f', manifest('rbac.yaml')], {
      env: { ...process.env, HOME: home, KUBECONFIG: h.kubeconfigPath },
    });
    const saKubeconfig = join(h.dir, 'sa-kubeconfig');
    await h.sim.writeKubeconfig(saKubeconfig, { token: h.sim.serviceAccountToken('mixpeek-system', 'mixpeek-secret-operator') });
    op = h.startOperator({
      kubeconfig: saKubeconfig,
      leaderElection: { namespace: 'mixpeek-system', name: 'mixpeek-secret-operator', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
    });
  });
  afterAll(() => scanAndClose(h));

  it('create, rotate, delete with the finalizer: all allowed', async () => {
    await waitFor('leading', () => op.records('became the leader').length > 0);
    const value = h.secretValue('rbac-1');
    const rv = await h.putSecret(NS, 'src', { token: value });
    await h.createMixpeekSecret(NS, 'app', { secretRef: { name: 'src', key: 'token' }, vaultSecretName: 'rbac_token', deletionPolicy: 'Delete' });
    const cr = await waitFor('synced with the finalizer', async () => {
      const c = await h.getMixpeekSecret(NS, 'app');
      return c?.status?.syncedResourceVersion === rv && readyOf(c)?.status === 'True' && c.metadata.finalizers?.includes(FINALIZER) ? c : undefined;
    });
    expect(readyOf(cr)?.reason).toBe('Created');
    expect(h.vault.plaintext('rbac_token')).toBe(value);

    const next = h.secretValue('rbac-2');
    const rv2 = await h.putSecret(NS, 'src', { token: next });
    await h.waitSynced(NS, 'app', rv2);
    expect(h.vault.plaintext('rbac_token')).toBe(next);
    // Events were allowed too.
    await waitFor('events recorded', async () => (await h.eventsFor(NS, 'app')).some((e) => e.reason === 'Synced'));

    await h.deleteMixpeekSecret(NS, 'app');
    await waitFor('CR gone', async () => (await h.getMixpeekSecret(NS, 'app')) === undefined);
    expect(h.vault.plaintext('rbac_token')).toBeUndefined();

    const text = op.log.text;
    expect(text).not.toMatch(/\b403\b|forbidden/i);
    expect(op.records('event not recorded')).toEqual([]);
    expect(op.records('list failed')).toEqual([]);
    expect(op.records('lease request failed')).toEqual([]);
  });
});
