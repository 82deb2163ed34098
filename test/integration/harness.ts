/**
 * One cluster (the API simulator), one local vault and the real operator,
 * wired the way a user would run them: the operator reads a kubeconfig file
 * and talks HTTPS to the "API server" and HTTP to the vault on loopback.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, type V1CustomResourceDefinition, type V1Secret } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { CapturedLog, createLogger } from '../../src/observability/log.js';
import { runOperator, type OperatorConfig } from '../../src/operator/operator.js';
import { GROUP, PLURAL, VERSION, type MixpeekSecretSpec, type StoredMixpeekSecret } from '../../src/controller/types.js';
import { startKubeSim, type KubeSim } from '../kube-sim/index.js';
import { startVaultServer, type VaultServer } from '../../src/vault/index.js';

export const OPERATOR_KEY = 'sk_operator_admin_key';
export const CRD_PATH = new URL('../../crds/mixpeeksecrets.mixpeek.com.yaml', import.meta.url);

export interface RunningOperator {
  log: CapturedLog;
  /** SIGTERM, as the process would get it; resolves with the exit code. */
  stop(): Promise<number>;
  readonly exited: Promise<number>;
}

export interface Harness {
  dir: string;
  sim: KubeSim;
  vault: VaultServer;
  vaultLog: CapturedLog;
  kubeconfigPath: string;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  operators: RunningOperator[];
  startOperator(overrides?: Partial<OperatorConfig>): RunningOperator;
  applyCrd(): Promise<void>;
  createNamespace(name: string): Promise<void>;
  /** Creates or replaces a Opaque Secret with string data; returns its resourceVersion. */
  putSecret(namespace: string, name: string, data: Record<string, string>): Promise<string>;
  createMixpeekSecret(namespace: string, name: string, spec: Partial<MixpeekSecretSpec> & Record<string, unknown>): Promise<StoredMixpeekSecret>;
  getMixpeekSecret(namespace: string, name: string): Promise<StoredMixpeekSecret | undefined>;
  events(namespace: string): Promise<{ type?: string; reason?: string; message?: string; involvedObject: { name?: string } }[]>;
  close(): Promise<void>;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last instanceof Error ? ` (last error: ${last.message.slice(0, 200)})` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function readyOf(cr: StoredMixpeekSecret | undefined): { status?: string; reason?: string; message?: string } | undefined {
  return cr?.status?.conditions?.find((c) => c.type === 'Ready');
}

export async function startHarness(options: { vaultKeys?: { key: string; role: 'ADMIN' | 'READ' }[]; rateLimitPerMinute?: number } = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'mxs-it-'));
  const sim = await startKubeSim();
  const vaultLog = new CapturedLog();
  const vault = await startVaultServer({
    port: 0,
    apiKeys: options.vaultKeys ?? [{ key: OPERATOR_KEY, role: 'ADMIN' }],
    logger: createLogger({ destination: vaultLog }),
    ...(options.rateLimitPerMinute !== undefined && { rateLimitPerMinute: options.rateLimitPerMinute }),
  });
  const kubeconfigPath = join(dir, 'kubeconfig');
  await sim.writeKubeconfig(kubeconfigPath);
  const kc = sim.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const extensions = kc.makeApiClient(ApiextensionsV1Api);
  const operators: RunningOperator[] = [];

  const h: Harness = {
    dir,
    sim,
    vault,
    vaultLog,
    kubeconfigPath,
    core,
    custom,
    operators,
    startOperator(overrides = {}) {
      const log = new CapturedLog();
      const shutdown = new AbortController();
      const config: OperatorConfig = {
        kubeconfig: kubeconfigPath,
        namespaces: [],
        vaultUrl: vault.url,
        apiKey: { value: OPERATOR_KEY },
        allowInsecureVault: false,
        vaultRateLimit: { ratePerSecond: 1000, burst: 1000 },
        concurrency: 4,
        resyncPeriodMs: 600_000,
        backoff: { baseMs: 100, capMs: 2_000 },
        health: { host: '127.0.0.1', port: 0 },
        leaderElection: undefined,
        shutdownGraceMs: 10_000,
        ...overrides,
      };
      const exited = runOperator(config, { logger: createLogger({ level: 'debug', destination: log }), shutdown: shutdown.signal });
      const running: RunningOperator = {
        log,
        exited,
        stop: async () => {
          shutdown.abort();
          return exited;
        },
      };
      operators.push(running);
      return running;
    },
    async applyCrd() {
      const crd = parseYaml(await readFile(CRD_PATH, 'utf8')) as V1CustomResourceDefinition;
      await extensions.createCustomResourceDefinition({ body: crd });
    },
    async createNamespace(name) {
      await core.createNamespace({ body: { metadata: { name } } });
    },
    async putSecret(namespace, name, data) {
      const body: V1Secret = { metadata: { name, namespace }, type: 'Opaque', stringData: data };
      let s: V1Secret;
      try {
        const current = await core.readNamespacedSecret({ name, namespace });
        body.metadata = { name, namespace, resourceVersion: current.metadata?.resourceVersion ?? '' };
        s = await core.replaceNamespacedSecret({ name, namespace, body: { ...body, data: {} } });
      } catch (e) {
        if ((e as { code?: number }).code !== 404) throw e;
        s = await core.createNamespacedSecret({ namespace, body });
      }
      return s.metadata?.resourceVersion ?? '';
    },
    async createMixpeekSecret(namespace, name, spec) {
      return (await custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'MixpeekSecret', metadata: { name, namespace }, spec },
      })) as StoredMixpeekSecret;
    },
    async getMixpeekSecret(namespace, name) {
      try {
        return (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name })) as StoredMixpeekSecret;
      } catch (e) {
        if ((e as { code?: number }).code === 404) return undefined;
        throw e;
      }
    },
    async events(namespace) {
      const list = await core.listNamespacedEvent({ namespace });
      return list.items.map((e) => ({ type: e.type, reason: e.reason, message: e.message, involvedObject: { name: e.involvedObject.name } }));
    },
    async close() {
      await Promise.all(operators.map((o) => o.stop()));
      await vault.close();
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return h;
}
