/**
 * `npm run demo`: the whole product on one machine, with no cluster and no
 * Mixpeek account. Starts the Kubernetes API simulator and the local vault,
 * runs the operator against them, applies the CRD, a Secret and a
 * MixpeekSecret, rotates the Secret, shows the status and the vault's audit
 * trail, and stops everything.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readyOf, startHarness, waitFor } from '../test/integration/harness.js';

function step(text: string): void {
  console.log(`\n== ${text}`);
}

function kubectlAvailable(): boolean {
  return spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
}

async function main(): Promise<void> {
  step('starting the Kubernetes API simulator and the local Mixpeek vault');
  const h = await startHarness();
  console.log(`API server ${h.sim.tlsUrl ?? h.sim.url}, vault ${h.vault.url}, kubeconfig ${h.kubeconfigPath}`);
  try {
    step('applying the CRD, namespace payments, Secret stripe-credentials and MixpeekSecret stripe');
    await h.applyCrd();
    await h.createNamespace('payments');
    const firstVersion = await h.putSecret('payments', 'stripe-credentials', { 'api-key': `sk_demo_${Date.now()}_a` });
    await h.createMixpeekSecret('payments', 'stripe', {
      secretRef: { name: 'stripe-credentials', key: 'api-key' },
      vaultSecretName: 'stripe_api_key',
    });

    step('running the operator (mixpeek-secret-operator run, in-process)');
    const operator = h.startOperator();
    const synced = (rv: string) => async () => {
      const cr = await h.getMixpeekSecret('payments', 'stripe');
      return cr?.status?.syncedResourceVersion === rv && readyOf(cr)?.status === 'True' ? cr : undefined;
    };
    const created = await waitFor('the first push', synced(firstVersion));
    console.log(`pushed Secret resourceVersion ${firstVersion}: Ready=${readyOf(created)?.status} reason=${readyOf(created)?.reason}`);

    step('rotating the Secret (a new value, as GitOps would land it)');
    const secondVersion = await h.putSecret('payments', 'stripe-credentials', { 'api-key': `sk_demo_${Date.now()}_b` });
    const rotated = await waitFor('the rotation to be pushed', synced(secondVersion));

    step('MixpeekSecret payments/stripe status (no value, only the vault name and flag)');
    console.log(JSON.stringify(rotated.status, null, 2));

    if (kubectlAvailable()) {
      step('kubectl get mixpeeksecrets -A');
      const home = mkdtempSync(join(tmpdir(), 'mxs-demo-home-'));
      // Asynchronous: the simulator answering kubectl lives in this process.
      const out = await promisify(execFile)('kubectl', ['--kubeconfig', h.kubeconfigPath, 'get', 'mixpeeksecrets', '-A'], {
        encoding: 'utf8',
        env: { ...process.env, HOME: home },
      });
      console.log(out.stdout.trimEnd());
    } else {
      console.log('\n(kubectl is not on PATH: skipping `kubectl get mixpeeksecrets`)');
    }

    step('vault audit trail (route, name, outcome: never a value)');
    for (const r of h.vaultLog.records().filter((l) => l.audit === true)) {
      console.log(`${String(r.route)}  name=${typeof r.name === 'string' ? r.name : '-'}  outcome=${String(r.outcome)}  status=${String(r.status)}`);
    }

    step('stopping the operator (drains, then exits)');
    const code = await operator.stop();
    console.log(`operator exited ${code}`);
  } finally {
    await h.close();
  }
  console.log('\ndemo finished');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
