/**
 * One cluster (the API simulator), one local vault and the real operator,
 * wired the way a user would run them: the operator reads a kubeconfig file
 * and talks HTTPS to the "API server" and HTTP to the vault on loopback.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1Secret } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { CapturedLog, createLogger } from '../../src/observability/log.js';
import { runOperator, type OperatorConfig } from '../../src/operator/operator.js';
import { GROUP, PLURAL, VERSION, type StoredMixpeekSecret } from '../../src/controller/types.js';
import { startKubeSim, type KObject, type KubeSim } from '../kube-sim/index.js';
import { startVaultServer, type VaultServer } from '../../src/vault/index.js';

export const OPERATOR_KEY = 'sk_operator_admin_key';
export const CRD_PATH = new URL('../../crds/mixpeeksecrets.mixpeek.com.yaml', import.meta.url);

export interface RunningOperator {
  log: CapturedLog;
  /** SIGTERM, as the process would get it; resolves with the exit code. */
  stop(): Promise<number>;
  readonly exited: Promise<number>;
  readonly stopped: boolean;
  /** The probe and metrics server, once it listens. */
  healthUrl(): Promise<string>;
  /** Parsed log lines, optionally only those with this `msg`. */
  records(msg?: string): Record<string, unknown>[];
  /** The `reconciled` lines for one CR, oldest first. */
  reconciles(namespace: string, name: string): { outcome?: string; reason?: string; reconcileID?: string }[];
  /** /metrics as read just before stop() signalled the operator (undefined while running or if it never served). */
  readonly finalMetrics: string | undefined;
}

/** An audit line of the local vault, with the time pino stamped on it. */
export interface VaultAuditRecord {
  time: number;
  route: string;
  name?: string;
  outcome: string;
  status: number;
}

export interface EventSummary {
  type?: string;
  reason?: string;
  message?: string;
  involvedObject: { name?: string };
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
  /** Creates or replaces the CRD with this (parsed) document. */
  putCrd(crd: KObject): Promise<void>;
  /** A fresh, unmistakable secret value, remembered for the leak scan. */
  secretValue(label: string): string;
  /** Remembers values (secrets, API keys) the leak scan must never find. */
  remember(...values: string[]): void;
  /** Stops scanning for a value planted on purpose (and the random part of a secretValue()). */
  forget(value: string): void;
  /** Everything the leak scan looks for. */
  readonly radioactive: ReadonlySet<string>;
  /** Error messages tests saw (failed calls, rejections), for the leak scan. */
  readonly errors: string[];
  /**
   * Every version of every Event, MixpeekSecret and Lease the simulator held
   * while the harness ran, every version as it was written, so statuses since
   * overwritten and objects since deleted are scanned too.
   */
  storedObjects(): { where: string; text: string }[];
  noteError(e: unknown): void;
  createNamespace(name: string): Promise<void>;
  /** Creates or replaces a Opaque Secret with string data; returns its resourceVersion. */
  putSecret(namespace: string, name: string, data: Record<string, string>): Promise<string>;
  /** Same with raw bytes (e.g. not UTF-8), sent as `data`. */
  putSecretBytes(namespace: string, name: string, data: Record<string, Buffer>): Promise<string>;
  deleteSecret(namespace: string, name: string): Promise<void>;
  /** `spec` is sent as given: tests store invalid ones on purpose. */
  createMixpeekSecret(namespace: string, name: string, spec: Record<string, unknown>): Promise<StoredMixpeekSecret>;
  getMixpeekSecret(namespace: string, name: string): Promise<StoredMixpeekSecret | undefined>;
  /** Waits until the MixpeekSecret reports Ready=True for Secret resourceVersion `rv`; returns it. */
  waitSynced(namespace: string, name: string, rv: string | undefined, timeoutMs?: number): Promise<StoredMixpeekSecret>;
  /** Merge-patches the spec (the main resource, as `kubectl patch --type=merge` would). */
  patchMixpeekSecretSpec(namespace: string, name: string, spec: Record<string, unknown>): Promise<StoredMixpeekSecret>;
  deleteMixpeekSecret(namespace: string, name: string): Promise<void>;
  events(namespace: string): Promise<EventSummary[]>;
  /** Events about one CR, oldest first. */
  eventsFor(namespace: string, name: string): Promise<EventSummary[]>;
  vaultAudit(): VaultAuditRecord[];
  /** Why an operator's /metrics could not be read at stop(); the leak scan fails on any. */
  readonly metricsFailures: readonly string[];
  close(): Promise<void>;
}

/**
 * Per-describe test timeout: a test chains several 20 s waits, and each must
 * be able to time out with its own message before the test does.
 */
export const IT_TIMEOUT = { timeout: 120_000 };

/** The operator's configuration for tests: loopback probes, a generous rate limit, short backoffs, no Lease. */
export function testOperatorConfig(kubeconfig: string, vaultUrl: string, apiKey: string, overrides: Partial<OperatorConfig> = {}): OperatorConfig {
  return {
    kubeconfig,
    namespaces: [],
    vaultUrl,
    apiKey: { value: apiKey },
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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function readyOf(cr: StoredMixpeekSecret | undefined): { status?: string; reason?: string; message?: string } | undefined {
  return cr?.status?.conditions?.find((c) => c.type === 'Ready');
}

export interface HarnessOptions {
  vaultKeys?: { key: string; role: 'ADMIN' | 'READ' }[];
  rateLimitPerMinute?: number;
  /** Apply the CRD and create these namespaces before returning. */
  namespaces?: string[];
}

/** The stored kinds a person could read and the operator writes to. */
const SCANNED_REFS = ['events', 'events.events.k8s.io', 'mixpeeksecrets.mixpeek.com', 'leases.coordination.k8s.io'];

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'mxs-it-'));
  let sim: KubeSim | undefined;
  let vault: VaultServer | undefined;
  let h: Harness;
  try {
    sim = await startKubeSim();
    const vaultLog = new CapturedLog();
    vault = await startVaultServer({
      port: 0,
      apiKeys: options.vaultKeys ?? [{ key: OPERATOR_KEY, role: 'ADMIN' }],
      logger: createLogger({ destination: vaultLog }),
      ...(options.rateLimitPerMinute !== undefined && { rateLimitPerMinute: options.rateLimitPerMinute }),
    });
    h = await assemble(dir, sim, vault, vaultLog, options);
  } catch (e) {
    // Whatever started must not outlive a failed setup (a listening server keeps the worker alive).
    await Promise.allSettled([vault?.close(), sim?.close()]);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  if (options.namespaces) {
    try {
      await h.applyCrd();
      for (const ns of options.namespaces) await h.createNamespace(ns);
    } catch (e) {
      await h.close();
      throw e;
    }
  }
  return h;
}

async function assemble(dir: string, sim: KubeSim, vault: VaultServer, vaultLog: CapturedLog, options: HarnessOptions): Promise<Harness> {
  const kubeconfigPath = join(dir, 'kubeconfig');
  await sim.writeKubeconfig(kubeconfigPath);
  const kc = sim.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const operators: RunningOperator[] = [];
  const metricsFailures: string[] = [];
  const radioactive = new Set<string>([OPERATOR_KEY, ...(options.vaultKeys ?? []).map((k) => k.key)]);
  const errors: string[] = [];
  const suffixes = new Map<string, string>();
  const seen = new Map<string, string>();
  // Every version the operator or anyone wrote, as it was written: overwritten statuses and deleted objects too.
  sim.onWrite((ref, o) => {
    if (!SCANNED_REFS.includes(ref)) return;
    seen.set(`${ref} ${JSON.stringify(o.metadata.name)} ${o.metadata.namespace ?? ''} ${o.metadata.resourceVersion ?? ''}`, JSON.stringify(o));
  });
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

  const h: Harness = {
    dir,
    sim,
    vault,
    vaultLog,
    kubeconfigPath,
    core,
    custom,
    operators,
    radioactive,
    errors,
    secretValue(label) {
      // The random part alone is as secret as the whole (a log that cut the prefix still leaks it).
      const suffix = randomBytes(9).toString('base64url');
      const v = `sv-${label}-${suffix}`;
      radioactive.add(v);
      radioactive.add(suffix);
      suffixes.set(v, suffix);
      return v;
    },
    remember(...values) {
      for (const v of values) if (v !== '') radioactive.add(v);
    },
    forget(value) {
      radioactive.delete(value);
      const suffix = suffixes.get(value);
      if (suffix !== undefined) radioactive.delete(suffix);
    },
    storedObjects() {
      return [...seen].map(([key, text]) => ({ where: key.split(' ').slice(0, 2).join(' '), text }));
    },
    noteError(e) {
      errors.push(e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e));
    },
    startOperator(overrides = {}) {
      const log = new CapturedLog();
      const shutdown = new AbortController();
      let announced: (url: string) => void = () => undefined;
      const health = new Promise<string>((resolve) => (announced = resolve));
      const config = testOperatorConfig(kubeconfigPath, vault.url, OPERATOR_KEY, overrides);
      const exited = runOperator(config, {
        logger: createLogger({ level: 'debug', destination: log }),
        shutdown: shutdown.signal,
        announce: (line) => announced(line.replace(/^.* on /, '')),
      });
      const records = (msg?: string): Record<string, unknown>[] => log.records().filter((r) => msg === undefined || r.msg === msg);
      let finalMetrics: string | undefined;
      let stopping: Promise<number> | undefined;
      const stop = async (): Promise<number> => {
        // What it served is evidence for the leak scan; read it while it still serves. An operator that exited
        // on its own, or never listened, has nothing to read.
        const url = await Promise.race([health, exited.then(() => undefined)]);
        if (url !== undefined && !shutdown.signal.aborted) {
          try {
            finalMetrics = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
          } catch (e) {
            metricsFailures.push(`operator #${operators.indexOf(running)} /metrics at stop: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
        shutdown.abort();
        return exited;
      };
      const running: RunningOperator = {
        log,
        exited,
        get stopped() {
          return shutdown.signal.aborted;
        },
        get finalMetrics() {
          return finalMetrics;
        },
        stop: () => (stopping ??= stop()),
        healthUrl: () => health,
        records,
        reconciles: (namespace, name) =>
          records('reconciled')
            .filter((r) => r.namespace === namespace && r.name === name)
            .map((r) => ({ outcome: r.outcome as string | undefined, reason: r.reason as string | undefined, reconcileID: r.reconcileID as string | undefined })),
      };
      operators.push(running);
      return running;
    },
    async applyCrd() {
      await h.putCrd(await loadCrd());
    },
    async putCrd(crd) {
      // Through the generic custom-objects client: the typed ApiextensionsV1Api serializer drops the schema's x-kubernetes-* keys.
      const crds = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' };
      const name = crd.metadata.name ?? '';
      let current: KObject | undefined;
      try {
        current = (await custom.getClusterCustomObject({ ...crds, name })) as KObject;
      } catch (e) {
        if ((e as { code?: number }).code !== 404) throw e;
      }
      if (current) {
        await custom.replaceClusterCustomObject({ ...crds, name, body: { ...crd, metadata: { ...crd.metadata, resourceVersion: current.metadata.resourceVersion } } });
      } else {
        await custom.createClusterCustomObject({ ...crds, body: crd });
      }
    },
    async createNamespace(name) {
      await core.createNamespace({ body: { metadata: { name } } });
    },
    async putSecret(namespace, name, data) {
      h.remember(...Object.values(data));
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
    async putSecretBytes(namespace, name, data) {
      const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('base64')]));
      const body: V1Secret = { metadata: { name, namespace }, type: 'Opaque', data: encoded };
      let s: V1Secret;
      try {
        const current = await core.readNamespacedSecret({ name, namespace });
        body.metadata = { name, namespace, resourceVersion: current.metadata?.resourceVersion ?? '' };
        s = await core.replaceNamespacedSecret({ name, namespace, body });
      } catch (e) {
        if ((e as { code?: number }).code !== 404) throw e;
        s = await core.createNamespacedSecret({ namespace, body });
      }
      return s.metadata?.resourceVersion ?? '';
    },
    async deleteSecret(namespace, name) {
      await core.deleteNamespacedSecret({ name, namespace });
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
    waitSynced(namespace, name, rv, timeoutMs) {
      return waitFor(
        `${namespace}/${name} synced at resourceVersion ${rv ?? '?'}`,
        async () => {
          const c = await h.getMixpeekSecret(namespace, name);
          return c?.status?.syncedResourceVersion === rv && readyOf(c)?.status === 'True' ? c : undefined;
        },
        timeoutMs,
      );
    },
    async patchMixpeekSecretSpec(namespace, name, spec) {
      return (await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { spec } }, mergePatch)) as StoredMixpeekSecret;
    },
    async deleteMixpeekSecret(namespace, name) {
      await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name });
    },
    async events(namespace) {
      const list = await core.listNamespacedEvent({ namespace });
      return list.items.map((e) => ({ type: e.type, reason: e.reason, message: e.message, involvedObject: { name: e.involvedObject.name } }));
    },
    async eventsFor(namespace, name) {
      return (await h.events(namespace)).filter((e) => e.involvedObject.name === name);
    },
    vaultAudit() {
      return vaultLog
        .records()
        .filter((r) => r.audit === true)
        .map((r) => {
          const rec: VaultAuditRecord = { time: Date.parse(String(r.time)), route: String(r.route), outcome: String(r.outcome), status: Number(r.status) };
          if (typeof r.name === 'string') rec.name = r.name;
          return rec;
        });
    },
    metricsFailures,
    async close() {
      try {
        const stops = await Promise.allSettled(operators.map((o) => o.stop()));
        // MXS_IT_DUMP=1: every operator warning and error on stderr, to look for trouble the assertions do not name.
        if (process.env.MXS_IT_DUMP) for (const o of operators) for (const r of o.log.records()) if (r.level !== 'debug' && r.level !== 'info') process.stderr.write(`${JSON.stringify(r)}\n`);
        const failed = stops.find((s) => s.status === 'rejected');
        if (failed) throw failed.reason;
      } finally {
        await Promise.allSettled([vault.close(), sim.close()]);
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
  return h;
}

/** The CRD as shipped. */
export async function loadCrd(): Promise<KObject> {
  return parseYaml(await readFile(CRD_PATH, 'utf8')) as KObject;
}

/** Where a value was found; never the value itself, so a failing scan does not spread it further. */
export interface Leak {
  where: string;
  /** Which remembered value (its position in the set), and in what encoding. */
  value: number;
  /** `plain`, `base64`, `base64url`, or those at byte offset 1 or 2 inside a larger blob (`base64+1`). */
  encoding: string;
}

/** Shifted forms shorter than this would match by chance. */
const MIN_SHIFTED_CHARS = 8;

/**
 * The value as text, and its base64 forms at each of the three byte offsets
 * it can have inside a larger base64 blob (a whole Secret, a JSON document):
 * only the characters that depend on the value's bytes alone are kept.
 */
export function encodings(value: string): { encoding: string; text: string }[] {
  const bytes = Buffer.from(value, 'utf8');
  const all: { encoding: string; text: string }[] = [{ encoding: 'plain', text: value }];
  for (const shift of [0, 1, 2]) {
    const shifted = Buffer.concat([Buffer.alloc(shift), bytes]);
    const whole = Math.floor(shifted.length / 3) * 4; // characters of complete 3-byte groups
    const skip = shift === 0 ? 0 : shift + 1; // characters that mix in the bytes before the value
    for (const alphabet of ['base64', 'base64url'] as const) {
      const encoded = shifted.toString(alphabet);
      // Unshifted, the value may also stand alone, padding and all.
      const text = shift === 0 ? encoded : encoded.slice(skip, whole);
      if (shift !== 0 && text.length < MIN_SHIFTED_CHARS) continue;
      all.push({ encoding: shift === 0 ? alphabet : `${alphabet}+${shift}`, text });
      if (shift === 0 && whole < encoded.length && whole >= MIN_SHIFTED_CHARS) all.push({ encoding: `${alphabet} (unpadded)`, text: encoded.slice(0, whole) });
    }
  }
  return all.filter((e, i) => all.findIndex((o) => o.text === e.text) === i);
}

/**
 * Everything the test run could have shown a person: every operator's log
 * lines, the vault's audit log, every version of every Event, MixpeekSecret
 * (status included) and Lease the API server held, the metrics of every
 * operator (read at stop() for stopped ones), and the error messages the test
 * noted. Secrets are left out: they are where the values are supposed to be.
 */
export async function collectVisible(h: Harness): Promise<{ where: string; text: string }[]> {
  const out: { where: string; text: string }[] = [];
  h.operators.forEach((o, i) => out.push({ where: `operator #${i} log`, text: o.log.text }));
  out.push({ where: 'vault audit log', text: h.vaultLog.text });
  out.push(...h.storedObjects());
  if (h.metricsFailures.length > 0) throw new Error(`leak scan: could not read /metrics: ${h.metricsFailures.join('; ')}`);
  for (const [i, o] of h.operators.entries()) {
    if (o.stopped) {
      if (o.finalMetrics !== undefined) out.push({ where: `operator #${i} /metrics at stop`, text: o.finalMetrics });
      continue;
    }
    const url = await Promise.race([o.healthUrl(), o.exited.then(() => undefined), sleep(10_000).then(() => 'never')]);
    if (url === undefined) continue; // exited on its own before it served anything
    if (url === 'never') throw new Error(`leak scan: operator #${i} is running but never served /metrics`);
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`leak scan: operator #${i} /metrics answered ${res.status}`);
    out.push({ where: `operator #${i} /metrics`, text: await res.text() });
  }
  h.errors.forEach((text, i) => out.push({ where: `noted error #${i}`, text }));
  return out;
}

export async function scanForLeaks(h: Harness): Promise<Leak[]> {
  const visible = await collectVisible(h);
  const leaks: Leak[] = [];
  [...h.radioactive].forEach((value, index) => {
    for (const { encoding, text } of encodings(value)) {
      for (const v of visible) if (v.text.includes(text)) leaks.push({ where: v.where, value: index, encoding });
    }
  });
  return leaks;
}

/** Fails when any remembered value shows anywhere visible; call it in afterAll, before close(). */
export async function expectNoLeaks(h: Harness): Promise<void> {
  const leaks = await scanForLeaks(h);
  if (leaks.length > 0) throw new Error(`secret values leaked: ${JSON.stringify(leaks)}`);
  // The scan must have had something to look at, or it proves nothing.
  if (h.operators.length > 0 && h.operators.every((o) => o.log.lines.length === 0)) throw new Error('leak scan: no operator log was captured');
}

/** afterAll body: scan, then tear down even when the scan fails. */
export async function scanAndClose(h: Harness | undefined): Promise<void> {
  if (!h) return;
  try {
    await expectNoLeaks(h);
  } finally {
    await h.close();
  }
}
