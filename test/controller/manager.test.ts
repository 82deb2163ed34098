import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startKubeSim, type KObject, type KubeSim } from '../kube-sim/index.js';
import { eventually } from '../kube-sim/test-fixtures.js';
import { Manager } from '../../src/controller/manager.js';
import type { VaultPort } from '../../src/controller/ports.js';
import type { Priority } from '../../src/controller/workqueue.js';
import { silentLogger } from '../../src/observability/log.js';

const CRS = 'mixpeeksecrets.mixpeek.com';
const crd = parse(readFileSync(new URL('../../crds/mixpeeksecrets.mixpeek.com.yaml', import.meta.url), 'utf8')) as KObject;

/** Workers never run in these tests, so the vault is never called. */
const unusedVault: VaultPort = {
  updateSecret: () => Promise.reject(new Error('not called')),
  createSecret: () => Promise.reject(new Error('not called')),
  deleteSecret: () => Promise.reject(new Error('not called')),
};

let sim: KubeSim;
let manager: Manager | undefined;

beforeEach(async () => {
  sim = await startKubeSim({ tls: false });
  sim.store.create('customresourcedefinitions.apiextensions.k8s.io', crd);
  for (const name of ['team-a', 'team-b']) {
    sim.store.create('namespaces', { metadata: { name } });
    sim.store.create(CRS, {
      apiVersion: 'mixpeek.com/v1alpha1',
      kind: 'MixpeekSecret',
      metadata: { name: 'stripe', namespace: name },
      spec: { secretRef: { name: 'creds', key: 'k' }, vaultSecretName: `${name}_stripe` },
    });
  }
});

afterEach(async () => {
  manager?.queue.shutDown();
  await manager?.stopCachesAndWait();
  manager = undefined;
  await sim.close();
});

function startManager(namespaces: string[], resyncPeriodMs: number): Manager {
  manager = new Manager({
    kubeConfig: sim.kubeConfig(),
    namespaces,
    vault: unusedVault,
    concurrency: 1,
    resyncPeriodMs,
    backoff: { baseMs: 1000, capMs: 60_000 },
    logger: silentLogger(),
    instance: 'test',
  });
  return manager;
}

describe('Manager', () => {
  it('with one reflector per --namespace, a resync enqueues each CR once, not once per reflector', async () => {
    const m = startManager(['team-a', 'team-b'], 3000);
    const resyncAdds: string[] = [];
    const add = m.queue.add.bind(m.queue);
    m.queue.add = (key: string, priority?: Priority) => {
      if (priority === 'resync') resyncAdds.push(key);
      add(key, priority);
    };
    expect(await m.waitForSync()).toBe(true);
    await eventually(() => (resyncAdds.length > 0 ? true : undefined));
    // Both reflectors synced within moments of each other, so their timers would fire together; the next round is 3 s away,
    // so a 1 s window tells one enqueue per CR from one per reflector even on a loaded machine.
    await sleep(1000);
    expect(resyncAdds.sort()).toEqual(['team-a/stripe', 'team-b/stripe']);
  });

  it('a deleted CR leaves no scheduled retry behind', async () => {
    const m = startManager([], 0);
    expect(await m.waitForSync()).toBe(true);
    m.queue.addAfter('team-a/stripe', 60_000); // as a failed reconcile schedules its retry
    expect(m.queue.pendingDelayed).toBe(1);
    sim.store.delete(CRS, 'team-a', 'stripe');
    await eventually(() => (m.queue.pendingDelayed === 0 ? true : undefined));
  });
});
