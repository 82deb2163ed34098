/**
 * The operator as a real process, as a Deployment runs it: flags and
 * environment in, JSON log lines out, a Lease held while running, and on
 * SIGTERM a drain, the Lease released and exit code 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeSim, type KubeSim } from '../kube-sim/index.js';
import { startVaultServer, type VaultServer } from '../../src/vault/index.js';
import { CRD_PATH, encodings, waitFor } from '../integration/harness.js';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { KObject } from '../kube-sim/types.js';

const KEY = 'sk_process_test_admin';
const VALUE = 'process-test-value-7c1e';

describe('mixpeek-secret-operator run (a real process)', () => {
  let sim: KubeSim;
  let vault: VaultServer;
  let dir: string;
  let child: ChildProcess;
  let stdout = '';
  let exited: Promise<number | null>;

  beforeAll(async () => {
    sim = await startKubeSim();
    vault = await startVaultServer({ port: 0, apiKeys: [{ key: KEY, role: 'ADMIN' }] });
    dir = await mkdtemp(join(tmpdir(), 'mxs-proc-'));
    const kubeconfig = join(dir, 'kubeconfig');
    await sim.writeKubeconfig(kubeconfig);
    sim.store.create('customresourcedefinitions.apiextensions.k8s.io', parseYaml(await readFile(CRD_PATH, 'utf8')) as KObject);
    sim.store.create('namespaces', { metadata: { name: 'payments' } });
    sim.store.create('secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'payments' }, data: { k: Buffer.from(VALUE).toString('base64') } });
    sim.store.create('mixpeeksecrets.mixpeek.com', {
      apiVersion: 'mixpeek.com/v1alpha1',
      kind: 'MixpeekSecret',
      metadata: { name: 'one', namespace: 'payments' },
      spec: { secretRef: { name: 'creds', key: 'k' }, vaultSecretName: 'proc_one' },
    });
    // One process (no npx/tsx wrapper), so SIGTERM reaches the operator itself as in a container.
    child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'run', '--kubeconfig', kubeconfig, '--vault-url', vault.url, '--health-addr', '127.0.0.1:0', '--leader-election-namespace', 'default'],
      { env: { ...process.env, MIXPEEK_API_KEY: KEY, POD_NAME: 'proc-test' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stdout += d.toString()));
    exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  });

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await vault?.close();
    await sim?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const lease = (): KObject | undefined => sim.store.get('leases.coordination.k8s.io', 'default', 'mixpeek-secret-operator');

  it('takes the Lease, pushes, and logs JSON lines only', async () => {
    await waitFor('the lease to be held', () => ((lease()?.spec as { holderIdentity?: string } | undefined)?.holderIdentity ?? '').startsWith('proc-test'), 60_000);
    await waitFor('the push', () => vault.plaintext('proc_one') === VALUE, 30_000);
    // The log line follows the vault's answer, through a pipe: wait for it rather than expect it already there.
    await waitFor('the push logged', () => stdout.includes('"msg":"pushed to the vault"'), 30_000);
    // Complete lines only: the last one may still be arriving.
    const lines = stdout.slice(0, stdout.lastIndexOf('\n')).split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
    expect(lines.some((l) => (JSON.parse(l) as { msg?: string }).msg === 'pushed to the vault')).toBe(true);
  }, 90_000);

  it('on SIGTERM drains, releases the Lease and exits 0, never having logged the value', async () => {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect((lease()?.spec as { holderIdentity?: string }).holderIdentity ?? '').toBe('');
    expect(stdout).toContain('"msg":"stopped"');
    for (const secret of [VALUE, KEY]) {
      for (const { encoding, text } of encodings(secret)) expect(stdout.includes(text), `output holds a secret (${encoding})`).toBe(false);
    }
  }, 60_000);
});
