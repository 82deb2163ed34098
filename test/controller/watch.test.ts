import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startKubeSim, type KubeSim } from '../kube-sim/index.js';
import { isConflict, isNotFound, KubeApiError, kubeGetJson, toKubeApiError } from '../../src/controller/kube.js';
import { startReflector, type Reflector, type ReflectorHandlers, type ReflectorOptions } from '../../src/controller/watch.js';
import { CapturedLog, createLogger } from '../../src/observability/log.js';
/**
 * A tiny purpose-built API server for the reflector tests: one collection,
 * list with limit/continue, and watches the test drives by hand (events,
 * bookmarks, clean close, destroyed sockets, HTTP 410, in-stream 410).
 */

interface FakeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion: string; annotations?: Record<string, string>; managedFields?: unknown[] };
  data?: Record<string, string>;
}

interface SeenRequest {
  watch: boolean;
  query: URLSearchParams;
  accept: string | undefined;
  authorization: string | undefined;
}

type WatchFault = 'http410' | 'stream410' | 'http500';

class FakeKube {
  readonly objects = new Map<string, FakeObject>();
  readonly requests: SeenRequest[] = [];
  readonly openWatches = new Set<ServerResponse>();
  readonly nextWatchFaults: WatchFault[] = [];
  /** LIST answers to fail with 500 before answering normally. */
  failNextLists = 0;
  /** Answer the next LIST carrying a continue token with 410 (the token expired). */
  expireNextContinue = false;
  rv = 100;
  private server: Server | undefined;
  url = '';

  constructor(readonly path = '/api/v1/namespaces/ns/secrets') {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.destroyWatches();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  kubeConfig(token = 'test-token'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'u', token }],
      contexts: [{ name: 'ctx', cluster: 'fake', user: 'u' }],
      currentContext: 'ctx',
    });
    return kc;
  }

  lists(): SeenRequest[] {
    return this.requests.filter((r) => !r.watch);
  }
  watches(): SeenRequest[] {
    return this.requests.filter((r) => r.watch);
  }

  /** Changes state without telling any watch (what a compaction gap hides). */
  putSilently(name: string, data: Record<string, string> = {}, annotations?: Record<string, string>): FakeObject {
    this.rv++;
    const obj: FakeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace: 'ns',
        resourceVersion: String(this.rv),
        managedFields: [{ manager: 'kubectl', operation: 'Update' }],
        ...(annotations ? { annotations } : {}),
      },
      data,
    };
    this.objects.set(name, obj);
    return obj;
  }

  deleteSilently(name: string): FakeObject | undefined {
    const obj = this.objects.get(name);
    this.objects.delete(name);
    this.rv++;
    return obj;
  }

  put(name: string, data: Record<string, string> = {}, annotations?: Record<string, string>): void {
    const existed = this.objects.has(name);
    this.putSilently(name, data, annotations);
    this.broadcast(existed ? 'MODIFIED' : 'ADDED', this.objects.get(name)!);
  }

  remove(name: string): void {
    const obj = this.deleteSilently(name);
    if (obj) this.broadcast('DELETED', { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.rv) } });
  }

  bookmark(): void {
    this.rv++;
    this.broadcast('BOOKMARK', { apiVersion: 'v1', kind: 'Secret', metadata: { resourceVersion: String(this.rv) } });
  }

  /** Writes each event in two chunks, split mid-JSON, as real servers may. */
  broadcast(type: string, object: unknown): void {
    const line = JSON.stringify({ type, object }) + '\n';
    const cut = Math.floor(line.length / 2);
    for (const res of this.openWatches) {
      res.write(line.slice(0, cut));
      res.write(line.slice(cut));
    }
  }

  closeWatches(): void {
    for (const res of this.openWatches) res.end();
    this.openWatches.clear();
  }

  destroyWatches(): void {
    for (const res of this.openWatches) res.socket?.destroy();
    this.openWatches.clear();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const watch = url.searchParams.get('watch') === 'true';
    this.requests.push({ watch, query: url.searchParams, accept: req.headers.accept, authorization: req.headers.authorization });
    if (url.pathname !== this.path) return this.status(res, 404, 'NotFound');
    if (watch) return this.serveWatch(res);
    if (this.failNextLists > 0) {
      this.failNextLists--;
      return this.status(res, 500, 'InternalError');
    }
    this.serveList(url.searchParams, res);
  }

  private serveList(q: URLSearchParams, res: ServerResponse): void {
    if (this.expireNextContinue && q.get('continue')) {
      this.expireNextContinue = false;
      return this.status(res, 410, 'Expired');
    }
    const all = [...this.objects.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const limit = Number(q.get('limit') ?? '0');
    const start = Number(q.get('continue') ?? '0');
    const items = limit > 0 ? all.slice(start, start + limit) : all;
    const next = limit > 0 && start + limit < all.length ? String(start + limit) : undefined;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'SecretList', metadata: { resourceVersion: String(this.rv), ...(next ? { continue: next } : {}) }, items }));
  }

  private serveWatch(res: ServerResponse): void {
    const fault = this.nextWatchFaults.shift();
    if (fault === 'http410') return this.status(res, 410, 'Expired');
    if (fault === 'http500') return this.status(res, 500, 'InternalError');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    if (fault === 'stream410') {
      res.end(
        JSON.stringify({
          type: 'ERROR',
          object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 },
        }) + '\n',
      );
      return;
    }
    res.flushHeaders();
    this.openWatches.add(res);
    res.on('close', () => this.openWatches.delete(res));
  }

  private status(res: ServerResponse, code: number, reason: string): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, code }));
  }
}

async function eventually<T>(check: () => T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

type Sec = FakeObject;

interface Recorder {
  adds: string[];
  updates: Array<[string, string, string]>;
  deletes: string[];
  synced: number;
  resyncs: number;
}

function recorder(): { rec: Recorder; handlers: ReflectorHandlers<Sec> } {
  const rec: Recorder = { adds: [], updates: [], deletes: [], synced: 0, resyncs: 0 };
  return {
    rec,
    handlers: {
      onAdd: (o) => rec.adds.push(o.metadata.name),
      onUpdate: (old, o) => rec.updates.push([o.metadata.name, old.metadata.resourceVersion, o.metadata.resourceVersion]),
      onDelete: (o) => rec.deletes.push(o.metadata.name),
      onSynced: () => rec.synced++,
    },
  };
}

describe('startReflector against a purpose-built API server', () => {
  let kube: FakeKube;
  let abort: AbortController;
  let log: CapturedLog;
  let reflector: Reflector<Sec> | undefined;

  beforeEach(async () => {
    kube = new FakeKube();
    await kube.start();
    abort = new AbortController();
    log = new CapturedLog();
    reflector = undefined;
  });

  afterEach(async () => {
    abort.abort();
    await reflector?.done;
    await kube.close();
  });

  function start(extra: Partial<ReflectorOptions<Sec>> = {}): { rec: Recorder; r: Reflector<Sec> } {
    const { rec, handlers } = recorder();
    reflector = startReflector<Sec>({
      kubeConfig: kube.kubeConfig(),
      path: kube.path,
      handlers,
      backoff: { baseMs: 20, capMs: 200 },
      logger: createLogger({ level: 'debug', destination: log }),
      signal: abort.signal,
      onResync: () => rec.resyncs++,
      ...extra,
    });
    return { rec, r: reflector };
  }

  it('lists, syncs, then delivers watch events from the list resourceVersion', async () => {
    kube.putSilently('a');
    kube.putSilently('b');
    const listRv = String(kube.rv);
    const { rec, r } = start();
    expect(await r.waitForSync()).toBe(true);
    expect(r.hasSynced()).toBe(true);
    expect(rec.adds.sort()).toEqual(['a', 'b']);
    expect(rec.synced).toBe(1);
    await eventually(() => kube.openWatches.size === 1, 'a watch');
    const w = kube.watches()[0]!;
    expect(w.query.get('resourceVersion')).toBe(listRv);
    expect(w.query.get('allowWatchBookmarks')).toBe('true');
    expect(Number(w.query.get('timeoutSeconds'))).toBeGreaterThanOrEqual(300);
    expect(w.authorization).toBe('Bearer test-token');

    kube.put('c', { k: 'djE=' });
    kube.put('a', { k: 'djI=' });
    kube.remove('b');
    await eventually(() => rec.deletes.length === 1, 'the delete');
    expect(rec.adds).toContain('c');
    expect(rec.updates.map((u) => u[0])).toEqual(['a']);
    expect(rec.deletes).toEqual(['b']);
    expect(r.list().map((o) => o.metadata.name).sort()).toEqual(['a', 'c']);
    expect(r.get('ns/a')?.metadata.resourceVersion).toBe(kube.objects.get('a')!.metadata.resourceVersion);
    expect(r.get('ns/b')).toBeUndefined();
    expect(r.lastResourceVersion).toBe(String(kube.rv));
    expect(r.counters.events).toBe(3);
  });

  it('after a clean close, watches again from the last resourceVersion (bookmarks move it) without relisting', async () => {
    kube.putSilently('a');
    const { rec, r } = start();
    await eventually(() => kube.openWatches.size === 1, 'a watch');
    kube.put('a', { k: 'eA==' });
    kube.bookmark();
    const bookmarkRv = String(kube.rv);
    await eventually(() => r.lastResourceVersion === bookmarkRv, 'bookmark applied');
    kube.closeWatches();
    await eventually(() => kube.watches().length === 2 && kube.openWatches.size === 1, 'the second watch');
    expect(kube.watches()[1]!.query.get('resourceVersion')).toBe(bookmarkRv);
    expect(kube.lists()).toHaveLength(1);
    expect(r.counters.relists).toBe(0);
    expect(r.counters.restarts).toBe(0);
    kube.put('z');
    await eventually(() => rec.adds.includes('z'), 'event on the resumed watch');
    expect(rec.updates).toHaveLength(1);
  });

  it('restarts after the watch socket is destroyed and keeps delivering', async () => {
    kube.putSilently('a');
    const { rec, r } = start();
    await eventually(() => kube.openWatches.size === 1, 'a watch');
    kube.put('b');
    await eventually(() => rec.adds.includes('b'), 'b');
    const rvBefore = r.lastResourceVersion;
    kube.destroyWatches();
    await eventually(() => kube.watches().length === 2 && kube.openWatches.size === 1, 'a new watch after the drop');
    expect(kube.watches()[1]!.query.get('resourceVersion')).toBe(rvBefore);
    expect(r.counters.restarts).toBeGreaterThanOrEqual(1);
    kube.put('c');
    await eventually(() => rec.adds.includes('c'), 'c after the restart');
    expect(kube.lists()).toHaveLength(1);
  });

  it('restarts a watch that went silent (idle timeout) from the same resourceVersion, without counting a failure', async () => {
    kube.putSilently('a');
    const { r } = start({ idleTimeoutMs: 300 });
    await eventually(() => kube.watches().length >= 3, 'two idle restarts', 20_000);
    const rvs = new Set(kube.watches().map((w) => w.query.get('resourceVersion')));
    expect([...rvs]).toEqual([String(kube.rv)]);
    expect(r.counters.restarts).toBe(0);
    expect(kube.lists()).toHaveLength(1);
  });

  it('backs off and retries a watch answered 500, and a list answered 500', async () => {
    kube.failNextLists = 2;
    kube.nextWatchFaults.push('http500', 'http500');
    kube.putSilently('a');
    const { rec, r } = start();
    await eventually(() => kube.openWatches.size === 1, 'a healthy watch after the failures');
    expect(kube.lists()).toHaveLength(3);
    expect(kube.watches()).toHaveLength(3);
    expect(r.counters.restarts).toBe(2);
    expect(rec.adds).toEqual(['a']);
  });

  for (const fault of ['http410', 'stream410'] as const) {
    it(`relists on 410 (${fault === 'http410' ? 'HTTP status' : 'in-stream ERROR event'}) and diffs: delete, update, add`, async () => {
      kube.putSilently('keep');
      kube.putSilently('gone');
      kube.putSilently('changed');
      const { rec, r } = start();
      await eventually(() => kube.openWatches.size === 1, 'a watch');
      expect(rec.adds.sort()).toEqual(['changed', 'gone', 'keep']);
      const oldChangedRv = kube.objects.get('changed')!.metadata.resourceVersion;

      // What happened while the watch history was compacted away.
      kube.deleteSilently('gone');
      kube.putSilently('changed', { k: 'bmV3' });
      kube.putSilently('fresh');
      kube.nextWatchFaults.push(fault);
      kube.closeWatches();

      await eventually(() => kube.lists().length === 2 && kube.openWatches.size === 1, 'relist then a new watch');
      expect(rec.deletes).toEqual(['gone']);
      expect(rec.updates).toEqual([['changed', oldChangedRv, kube.objects.get('changed')!.metadata.resourceVersion]]);
      expect(rec.adds.filter((n) => n === 'fresh')).toHaveLength(1);
      expect(rec.adds.filter((n) => n === 'keep')).toHaveLength(1);
      expect(r.counters.relists).toBe(1);
      expect(rec.synced).toBe(1);
      const lastWatch = kube.watches().at(-1)!;
      expect(lastWatch.query.get('resourceVersion')).toBe(String(kube.rv));
      expect(r.list().map((o) => o.metadata.name).sort()).toEqual(['changed', 'fresh', 'keep']);
    });
  }

  it('metadata-only: asks for PartialObjectMetadata on list and watch and stores no data or last-applied copy', async () => {
    const value = 'c3VwZXItc2VjcmV0LXZhbHVlLTQyNDI=';
    const lastApplied = JSON.stringify({ data: { token: value } });
    kube.putSilently('a', { token: value }, { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied, team: 'x' });
    const { rec, r } = start({ metadataOnly: true });
    await eventually(() => kube.openWatches.size === 1, 'a watch');
    expect(kube.lists()[0]!.accept).toBe('application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1');
    expect(kube.watches()[0]!.accept).toBe('application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1');
    expect(kube.watches()[0]!.authorization).toBe('Bearer test-token');
    kube.put('b', { token: value }, { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied });
    await eventually(() => rec.adds.includes('b'), 'b');
    for (const obj of r.list()) {
      expect(obj).not.toHaveProperty('data');
      expect(obj.metadata).not.toHaveProperty('managedFields');
      expect(obj.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toBeUndefined();
    }
    expect(r.get('ns/a')?.metadata.annotations).toEqual({ team: 'x' });
    expect(JSON.stringify(r.list())).not.toContain(value);
    expect(log.text).not.toContain(value);
  });

  it('pages the list with limit and continue', async () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) kube.putSilently(n);
    const { rec, r } = start({ pageSize: 2 });
    expect(await r.waitForSync()).toBe(true);
    const lists = kube.lists();
    expect(lists.map((l) => [l.query.get('limit'), l.query.get('continue')])).toEqual([
      ['2', null],
      ['2', '2'],
      ['2', '4'],
    ]);
    expect(rec.adds.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('starts the list over without paging when a continue token has expired', async () => {
    for (const n of ['a', 'b', 'c']) kube.putSilently(n);
    kube.expireNextContinue = true;
    const { rec, r } = start({ pageSize: 2 });
    expect(await r.waitForSync()).toBe(true);
    expect(kube.lists().map((l) => [l.query.get('limit'), l.query.get('continue')])).toEqual([
      ['2', null],
      ['2', '2'],
      [null, null],
    ]);
    expect(rec.adds.sort()).toEqual(['a', 'b', 'c']);
  });

  it('passes label and field selectors to list and watch', async () => {
    const { r } = start({ labelSelector: 'app=x', fieldSelector: 'metadata.name=a' });
    await r.waitForSync();
    await eventually(() => kube.watches().length === 1, 'a watch');
    for (const req of [kube.lists()[0]!, kube.watches()[0]!]) {
      expect(req.query.get('labelSelector')).toBe('app=x');
      expect(req.query.get('fieldSelector')).toBe('metadata.name=a');
    }
  });

  it('calls onResync periodically once synced', async () => {
    const { rec } = start({ resyncPeriodMs: 30 });
    await eventually(() => rec.resyncs >= 3, 'three resyncs');
  });

  it('stops cleanly on abort: the watch connection closes, no further requests, no warnings', async () => {
    kube.putSilently('a');
    const { r } = start();
    await eventually(() => kube.openWatches.size === 1, 'a watch');
    abort.abort();
    await r.done;
    await eventually(() => kube.openWatches.size === 0, 'the server sees the watch close');
    const seen = kube.requests.length;
    await new Promise((res) => setTimeout(res, 200));
    expect(kube.requests.length).toBe(seen);
    const noisy = log.records().filter((l) => l.level === 'warn' || l.level === 'error');
    expect(noisy).toEqual([]);
  });

  it('stop() before the first list settles waitForSync with false', async () => {
    kube.failNextLists = 1000;
    const { r } = start({ backoff: { baseMs: 50, capMs: 50 } });
    const waiting = r.waitForSync();
    await eventually(() => kube.lists().length >= 1, 'a list attempt');
    r.stop();
    expect(await waiting).toBe(false);
    await r.done;
    expect(r.hasSynced()).toBe(false);
  });
});

describe('startReflector against the Kubernetes API simulator', () => {
  let sim: KubeSim;
  let core: CoreV1Api;
  let abort: AbortController;
  let log: CapturedLog;
  let reflector: Reflector<Sec> | undefined;
  const NS = 'w';
  const PATH = `/api/v1/namespaces/${NS}/secrets`;
  const VALUE = 'cm90YXRlZC12YWx1ZS1kby1ub3QtbG9nLTc3';

  beforeEach(async () => {
    sim = await startKubeSim({ bookmarkIntervalMs: 100 });
    core = sim.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await core.createNamespace({ body: { metadata: { name: 'elsewhere' } } });
    abort = new AbortController();
    log = new CapturedLog();
    reflector = undefined;
  });

  afterEach(async () => {
    abort.abort();
    await reflector?.done;
    await sim.close();
  });

  function start(extra: Partial<ReflectorOptions<Sec>> = {}): { rec: Recorder; r: Reflector<Sec> } {
    const { rec, handlers } = recorder();
    reflector = startReflector<Sec>({
      kubeConfig: sim.kubeConfig(),
      path: PATH,
      metadataOnly: true,
      handlers,
      backoff: { baseMs: 20, capMs: 200 },
      logger: createLogger({ level: 'debug', destination: log }),
      signal: abort.signal,
      ...extra,
    });
    return { rec, r: reflector };
  }

  const put = async (name: string, value = VALUE, ns = NS): Promise<void> => {
    const body = { metadata: { name, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ data: { k: value } }) } }, data: { k: value } };
    try {
      await core.replaceNamespacedSecret({ name, namespace: ns, body });
    } catch {
      await core.createNamespacedSecret({ namespace: ns, body });
    }
  };
  const del = (name: string): Promise<unknown> => core.deleteNamespacedSecret({ name, namespace: NS });
  const lists = (): number => sim.counters.get('list', 'secrets');

  it('lists and watches Secrets metadata-only: adds, updates, deletes; no data and no value kept or logged', async () => {
    await put('a');
    const { rec, r } = start();
    expect(await r.waitForSync()).toBe(true);
    await eventually(() => sim.faults.openWatches() === 1, 'a watch');
    await put('b');
    await put('a', 'bmV3LXZhbHVl');
    await del('b');
    await eventually(() => rec.deletes.includes('b'), 'b deleted');
    expect(rec.adds).toEqual(['a', 'b']);
    expect(rec.updates.map((u) => u[0])).toEqual(['a']);
    expect(r.list().map((o) => o.metadata.name)).toEqual(['a']);
    expect(JSON.stringify(r.list())).not.toContain(VALUE);
    expect(r.get(`${NS}/a`)).not.toHaveProperty('data');
    expect(log.text).not.toContain(VALUE);
  });

  it('bookmarks move the resourceVersion; after the server closes watches it resumes without relisting', async () => {
    const { rec, r } = start();
    await r.waitForSync();
    await eventually(() => sim.faults.openWatches() === 1, 'a watch');
    await put('unrelated', VALUE, 'elsewhere');
    await eventually(() => r.lastResourceVersion === sim.store.resourceVersion, 'a bookmark at the current resourceVersion');
    sim.faults.closeWatches();
    await eventually(() => r.counters.watches === 2 && sim.faults.openWatches() === 1, 'a resumed watch');
    await put('after');
    await eventually(() => rec.adds.includes('after'), 'event after resuming');
    expect(lists()).toBe(1);
    expect(r.counters.restarts).toBe(0);
    expect(rec.adds).toEqual(['after']);
  });

  it('restarts after the simulator destroys the watch sockets', async () => {
    const { rec, r } = start();
    await r.waitForSync();
    await eventually(() => sim.faults.openWatches() === 1, 'a watch');
    sim.faults.destroyWatchSockets();
    await eventually(() => r.counters.restarts >= 1 && sim.faults.openWatches() === 1, 'a restarted watch');
    await put('after-drop');
    await eventually(() => rec.adds.includes('after-drop'), 'event after the restart');
    expect(lists()).toBe(1);
  });

  for (const mode of ['http', 'event'] as const) {
    it(`relists on 410 (${mode === 'http' ? 'HTTP 410' : 'in-stream ERROR after compaction'}) and reports what changed meanwhile`, async () => {
      await put('keep');
      await put('gone');
      await put('changed');
      const { rec, r } = start();
      await r.waitForSync();
      await eventually(() => sim.faults.openWatches() === 1, 'a watch');
      // Hold the reflector off the API while things change behind its back.
      sim.faults.failNext({ verb: 'watch', resource: 'secrets', status: 500, count: 1_000_000 });
      sim.faults.destroyWatchSockets();
      await eventually(() => r.counters.restarts >= 2, 'watches failing');
      await del('gone');
      await put('changed', 'Y2hhbmdlZA==');
      await put('fresh');
      sim.faults.clear();
      if (mode === 'http') sim.faults.expireNextWatch('http', 'secrets');
      else sim.faults.compactHistory();
      await eventually(() => r.counters.relists === 1 && sim.faults.openWatches() === 1, 'relist and a new watch');
      expect(rec.deletes).toEqual(['gone']);
      expect(rec.updates.map((u) => u[0])).toEqual(['changed']);
      expect(rec.adds.sort()).toEqual(['changed', 'fresh', 'gone', 'keep']);
      expect(lists()).toBe(2);
      expect(r.list().map((o) => o.metadata.name).sort()).toEqual(['changed', 'fresh', 'keep']);
    });
  }

  it('pages a large list through limit and continue', async () => {
    for (let i = 0; i < 7; i++) await put(`s${i}`);
    const { rec, r } = start({ pageSize: 3 });
    await r.waitForSync();
    expect(lists()).toBe(3);
    expect(rec.adds).toHaveLength(7);
  });

  it('stops on abort: the simulator sees the watch go away, and nothing is logged as a failure', async () => {
    const { r } = start();
    await r.waitForSync();
    await eventually(() => sim.faults.openWatches() === 1, 'a watch');
    abort.abort();
    await r.done;
    await eventually(() => sim.faults.openWatches() === 0, 'no open watch');
    expect(log.records().filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
  });
});

describe('kube helpers: errors without bodies, authenticated GET', () => {
  let sim: KubeSim;
  beforeEach(async () => {
    sim = await startKubeSim();
  });
  afterEach(async () => {
    await sim.close();
  });

  it('classifies ApiExceptions from real calls and keeps the response body out of the message', async () => {
    const core = sim.kubeConfig().makeApiClient(CoreV1Api);
    const notFound = await core.readNamespacedSecret({ name: 'absent-secret-xyz', namespace: 'default' }).catch((e: unknown) => e);
    expect(isNotFound(notFound)).toBe(true);
    const e404 = toKubeApiError(notFound, 'read secret');
    expect([e404.kind, e404.code, e404.reason]).toEqual(['NotFound', 404, 'NotFound']);
    expect(e404.message).toBe('read secret: HTTP 404 NotFound');

    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'dup' } } });
    const conflict = await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'dup' } } }).catch((e: unknown) => e);
    expect(isConflict(conflict)).toBe(true);
    expect(toKubeApiError(conflict, 'create').kind).toBe('Conflict');

    const marker = 'bodymarker-do-not-echo';
    const invalid = await core
      .createNamespacedSecret({ namespace: 'default', body: { metadata: { name: `Invalid_${marker}` }, stringData: { k: marker } } })
      .catch((e: unknown) => e);
    expect(String((invalid as Error).message)).toContain(marker); // client-node's own message carries the body...
    const e422 = toKubeApiError(invalid, 'create secret');
    expect(e422.kind).toBe('Invalid');
    expect(`${e422.message} ${e422.stack ?? ''} ${JSON.stringify(e422)}`).not.toContain(marker); // ...ours does not
  });

  it('kubeGetJson authenticates like the client, maps failures, and reports refused connections as Network', async () => {
    const list = (await kubeGetJson(sim.kubeConfig(), '/api/v1/namespaces?limit=1')) as { kind?: string; items?: unknown[] };
    expect(list.kind).toBe('NamespaceList');
    expect(list.items).toHaveLength(1);
    const denied = await kubeGetJson(sim.kubeConfig('not-a-token'), '/api/v1/namespaces').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(KubeApiError);
    expect((denied as KubeApiError).kind).toBe('Unauthorized');

    const url = sim.url;
    await sim.close();
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const refused = await kubeGetJson(kc, '/api/v1/namespaces').catch((e: unknown) => e);
    expect((refused as KubeApiError).kind).toBe('Network');
    expect((refused as KubeApiError).reason).toBe('ECONNREFUSED');
    sim = await startKubeSim();
  });
});
