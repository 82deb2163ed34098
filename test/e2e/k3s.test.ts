/**
 * End to end against a real Kubernetes (k3s in a container, through
 * testcontainers): the same create-then-rotate flow as the simulator tests,
 * proving the simulator did not hide a difference from a real API server.
 *
 * Needs a container runtime. Where none exists (the development machines and
 * CI of this repository), the suite is skipped and says why; it never fails
 * for the runtime's absence, and never skips for any other error.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapturedLog, createLogger } from '../../src/observability/log.js';
import { runOperator } from '../../src/operator/operator.js';
import { startVaultServer, type VaultServer } from '../../src/vault/index.js';
import { GROUP, PLURAL, VERSION, type StoredMixpeekSecret } from '../../src/controller/types.js';
import { encodings, loadCrd, testOperatorConfig, waitFor } from '../integration/harness.js';

const K3S_IMAGE = 'rancher/k3s:v1.31.4-k3s1';

/** testcontainers' words when it finds no docker/podman to talk to. */
const NO_RUNTIME = 'Could not find a working container runtime strategy';

/** Why the suite is skipped, if it is: only the runtime's absence. Anything else (a broken import) fails the file. */
async function containerRuntimeMissing(): Promise<string | undefined> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
    return undefined;
  } catch (e) {
    if (e instanceof Error && e.message.includes(NO_RUNTIME)) return NO_RUNTIME;
    throw e;
  }
}

const missing = await containerRuntimeMissing();

describe.skipIf(missing !== undefined)(missing ? `e2e on k3s (skipped: ${missing})` : 'e2e on k3s', () => {
  let stopK3s: (() => Promise<unknown>) | undefined;
  let vault: VaultServer;
  let dir: string;
  let kubeconfigPath: string;
  let kc: KubeConfig;
  const shutdown = new AbortController();
  let exited: Promise<number> | undefined;
  const log = new CapturedLog();
  const KEY = 'sk_e2e_admin';

  beforeAll(async () => {
    const { K3sContainer } = await import('@testcontainers/k3s');
    const k3s = await new K3sContainer(K3S_IMAGE).start();
    stopK3s = () => k3s.stop();
    dir = await mkdtemp(join(tmpdir(), 'mxs-e2e-'));
    kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, k3s.getKubeConfig());
    kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    vault = await startVaultServer({ port: 0, apiKeys: [{ key: KEY, role: 'ADMIN' }] });
    // The generic client: the typed ApiextensionsV1Api drops the schema's x-kubernetes-* keys.
    await kc
      .makeApiClient(CustomObjectsApi)
      .createClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', body: await loadCrd() });
    await waitFor(
      'the CRD to be established',
      async () => {
        const c = await kc.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: 'mixpeeksecrets.mixpeek.com' });
        return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
      },
      60_000,
    );
  }, 300_000);

  afterAll(async () => {
    shutdown.abort();
    await exited;
    await vault?.close();
    await stopK3s?.();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pushes a new Secret and its rotation, and records status', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await core.createNamespace({ body: { metadata: { name: 'payments' } } });
    const created = await core.createNamespacedSecret({ namespace: 'payments', body: { metadata: { name: 'creds' }, stringData: { k: 'e2e-value-one' } } });
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: 'payments',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'MixpeekSecret', metadata: { name: 'e2e' }, spec: { secretRef: { name: 'creds', key: 'k' }, vaultSecretName: 'e2e_secret' } },
    });
    exited = runOperator(
      testOperatorConfig(kubeconfigPath, vault.url, KEY, {
        concurrency: 2,
        backoff: { baseMs: 200, capMs: 5_000 },
        leaderElection: { namespace: 'default', name: 'mixpeek-e2e' },
        shutdownGraceMs: 5_000,
      }),
      { logger: createLogger({ destination: log }), shutdown: shutdown.signal },
    );
    const get = async (): Promise<StoredMixpeekSecret> =>
      (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: 'payments', name: 'e2e' })) as StoredMixpeekSecret;
    await waitFor('the first push', async () => (await get()).status?.syncedResourceVersion === created.metadata?.resourceVersion, 60_000);
    expect(vault.plaintext('e2e_secret')).toBe('e2e-value-one');
    const rotated = await core.replaceNamespacedSecret({
      namespace: 'payments',
      name: 'creds',
      body: { metadata: { name: 'creds', resourceVersion: created.metadata?.resourceVersion ?? '' }, data: { k: Buffer.from('e2e-value-two').toString('base64') } },
    });
    await waitFor('the rotation', async () => (await get()).status?.syncedResourceVersion === rotated.metadata?.resourceVersion, 60_000);
    expect(vault.plaintext('e2e_secret')).toBe('e2e-value-two');
    expect((await get()).status).toMatchObject({ secretName: 'e2e_secret', updated: true });
    for (const value of ['e2e-value-one', 'e2e-value-two', KEY]) {
      for (const { encoding, text } of encodings(value)) expect(log.text.includes(text), `operator log holds a value (${encoding})`).toBe(false);
    }
  }, 180_000);
});
