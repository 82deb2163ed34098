/**
 * Watches as the real client-node sees them: replay, history window and 410 in both forms, bookmarks,
 * timeoutSeconds, selectors, metadata-only events, and makeInformer through each of its paths.
 */
import { CoreV1Api, makeInformer, Watch, type V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeSim, type KubeSim } from './index.js';
import { eventually } from './test-fixtures.js';

interface WatchEvent {
  type: string;
  object: { kind?: string; apiVersion?: string; metadata?: { name?: string; resourceVersion?: string }; code?: number; reason?: string; message?: string };
}

let sim: KubeSim;
let core: CoreV1Api;

beforeAll(async () => {
  sim = await startKubeSim({ historySize: 50, bookmarkIntervalMs: 100 });
  core = sim.kubeConfig().makeApiClient(CoreV1Api);
});

afterAll(async () => {
  await sim.close();
});

async function namespace(name: string): Promise<void> {
  await core.createNamespace({ body: { metadata: { name } } });
}

/** Runs a client-node Watch and collects its events and how it ended. */
function collect(path: string, query: Record<string, string | number | boolean | undefined>) {
  const events: WatchEvent[] = [];
  let ended: { err: unknown } | undefined;
  const started = new Watch(sim.kubeConfig()).watch(
    path,
    query,
    (type, object) => events.push({ type, object: object as WatchEvent['object'] }),
    (err) => {
      ended = { err };
    },
  );
  return {
    events,
    ended: () => ended,
    started,
    stop: async () => (await started).abort(),
  };
}

describe('watch', () => {
  it('sends ADDED for existing objects when no resourceVersion is given, then live MODIFIED and DELETED', async () => {
    await namespace('w1');
    await core.createNamespacedSecret({ namespace: 'w1', body: { metadata: { name: 'pre' } } });
    const w = collect('/api/v1/namespaces/w1/secrets', {});
    await w.started;
    await eventually(() => (w.events.length >= 1 ? true : undefined));
    await core.createNamespacedSecret({ namespace: 'w1', body: { metadata: { name: 'live' } } });
    await core.patchNamespacedSecret({ name: 'live', namespace: 'w1', body: [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }] });
    await core.deleteNamespacedSecret({ name: 'live', namespace: 'w1' });
    await eventually(() => (w.events.length >= 4 ? true : undefined));
    expect(w.events.map((e) => `${e.type}:${e.object.metadata?.name}`)).toEqual(['ADDED:pre', 'ADDED:live', 'MODIFIED:live', 'DELETED:live']);
    const rvs = w.events.slice(1).map((e) => Number(e.object.metadata?.resourceVersion));
    expect(rvs[1]).toBeGreaterThan(rvs[0] ?? 0);
    expect(rvs[2]).toBeGreaterThan(rvs[1] ?? 0);
    await w.stop();
  });

  it('replays the history after a resourceVersion', async () => {
    await namespace('w2');
    const a = await core.createNamespacedSecret({ namespace: 'w2', body: { metadata: { name: 'a' } } });
    await core.createNamespacedSecret({ namespace: 'w2', body: { metadata: { name: 'b' } } });
    await core.patchNamespacedSecret({ name: 'a', namespace: 'w2', body: [{ op: 'add', path: '/metadata/labels', value: { x: 'y' } }] });
    const w = collect('/api/v1/namespaces/w2/secrets', { resourceVersion: a.metadata?.resourceVersion });
    await eventually(() => (w.events.length >= 2 ? true : undefined));
    expect(w.events.map((e) => `${e.type}:${e.object.metadata?.name}`)).toEqual(['ADDED:b', 'MODIFIED:a']);
    await w.stop();
  });

  it('answers a resourceVersion older than the window with an in-stream ERROR 410 Expired and ends the stream', async () => {
    await namespace('w3');
    const first = await core.createNamespacedSecret({ namespace: 'w3', body: { metadata: { name: 'old' } } });
    for (let i = 0; i < 60; i++) await core.createNamespacedSecret({ namespace: 'w3', body: { metadata: { name: `n${i}` } } });
    const w = collect('/api/v1/namespaces/w3/secrets', { resourceVersion: first.metadata?.resourceVersion });
    await eventually(() => w.ended());
    expect(w.ended()?.err).toBeNull();
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', code: 410, reason: 'Expired' } });
    expect(w.events[0]?.object.message).toMatch(/^too old resource version: \d+ \(\d+\)$/);
  });

  it('after compaction any older resourceVersion is too old, and the next watch can be forced to HTTP 410', async () => {
    await namespace('w4');
    const s = await core.createNamespacedSecret({ namespace: 'w4', body: { metadata: { name: 's' } } });
    await core.createNamespacedSecret({ namespace: 'w4', body: { metadata: { name: 't' } } });
    sim.faults.compactHistory();
    const w = collect('/api/v1/namespaces/w4/secrets', { resourceVersion: s.metadata?.resourceVersion });
    await eventually(() => w.ended());
    expect(w.events[0]).toMatchObject({ type: 'ERROR', object: { code: 410 } });

    sim.faults.expireNextWatch('http');
    const h = collect('/api/v1/namespaces/w4/secrets', {});
    await eventually(() => h.ended());
    const err = h.ended()?.err as { statusCode?: number; message?: string };
    expect(err.statusCode).toBe(410);
    expect(err.message).toBe('Gone');
    expect(h.events).toHaveLength(0);
  });

  it('sends BOOKMARK events only when allowWatchBookmarks is set, and ends cleanly at timeoutSeconds', async () => {
    await namespace('w5');
    const w = collect('/api/v1/namespaces/w5/secrets', { allowWatchBookmarks: true, timeoutSeconds: 1 });
    await eventually(() => w.ended(), 5_000);
    expect(w.ended()?.err).toBeNull();
    const bookmark = w.events.find((e) => e.type === 'BOOKMARK');
    expect(bookmark?.object).toMatchObject({ kind: 'Secret', apiVersion: 'v1' });
    expect(Number(bookmark?.object.metadata?.resourceVersion)).toBeGreaterThan(0);
    const plain = collect('/api/v1/namespaces/w5/secrets', { timeoutSeconds: 1 });
    await eventually(() => plain.ended(), 5_000);
    expect(plain.events.filter((e) => e.type === 'BOOKMARK')).toHaveLength(0);
  });

  it('turns an object that stops matching the selector into DELETED, and starts matching into ADDED', async () => {
    await namespace('w6');
    await core.createNamespacedSecret({ namespace: 'w6', body: { metadata: { name: 'sel', labels: { app: 'yes' } } } });
    const w = collect('/api/v1/namespaces/w6/secrets', { labelSelector: 'app=yes', fieldSelector: 'metadata.name=sel' });
    await eventually(() => (w.events.length >= 1 ? true : undefined));
    await core.patchNamespacedSecret({ name: 'sel', namespace: 'w6', body: [{ op: 'replace', path: '/metadata/labels/app', value: 'no' }] });
    await core.createNamespacedSecret({ namespace: 'w6', body: { metadata: { name: 'other', labels: { app: 'yes' } } } });
    await core.patchNamespacedSecret({ name: 'sel', namespace: 'w6', body: [{ op: 'replace', path: '/metadata/labels/app', value: 'yes' }] });
    await eventually(() => (w.events.length >= 3 ? true : undefined));
    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'DELETED', 'ADDED']);
    await w.stop();
  });

  it('sends PartialObjectMetadata events when the watch asks for metadata only', async () => {
    await namespace('w7');
    const controller = new AbortController();
    const res = await fetch(`${sim.url}/api/v1/namespaces/w7/secrets?watch=true`, {
      headers: { Authorization: `Bearer ${sim.adminToken}`, Accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1' },
      signal: controller.signal,
    });
    await core.createNamespacedSecret({ namespace: 'w7', body: { metadata: { name: 'm' }, stringData: { v: 'payload-value' } } });
    let text = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      text += Buffer.from(chunk).toString();
      if (text.includes('\n')) break;
    }
    controller.abort();
    expect(JSON.parse(text.split('\n')[0] ?? '')).toMatchObject({ type: 'ADDED', object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'm' } } });
    expect(text).not.toContain(Buffer.from('payload-value').toString('base64'));
  });
});

describe('makeInformer', () => {
  function informerOn(ns: string) {
    const inf = makeInformer<V1Secret>(sim.kubeConfig(), `/api/v1/namespaces/${ns}/secrets`, () => core.listNamespacedSecret({ namespace: ns }));
    const seen = { added: [] as string[], deleted: [] as string[], errors: [] as unknown[] };
    inf.on('add', (s) => seen.added.push(s.metadata?.name ?? ''));
    inf.on('delete', (s) => seen.deleted.push(s.metadata?.name ?? ''));
    inf.on('error', (e) => seen.errors.push(e));
    return { inf, seen };
  }

  it('re-watches without a relist after the server closes the watch cleanly', async () => {
    await namespace('i1');
    const { inf, seen } = informerOn('i1');
    await inf.start();
    await eventually(() => (sim.faults.openWatches() > 0 ? true : undefined));
    const lists = sim.counters.get('list', 'secrets');
    const watches = sim.counters.get('watch', 'secrets');
    expect(sim.faults.closeWatches()).toBeGreaterThan(0);
    await core.createNamespacedSecret({ namespace: 'i1', body: { metadata: { name: 'after-close' } } });
    await eventually(() => (seen.added.includes('after-close') ? true : undefined));
    expect(sim.counters.get('list', 'secrets')).toBe(lists);
    expect(sim.counters.get('watch', 'secrets')).toBeGreaterThan(watches);
    expect(seen.errors).toHaveLength(0);
    await inf.stop();
  });

  it('fires error and stops when the watch socket is dropped', async () => {
    await namespace('i2');
    const { inf, seen } = informerOn('i2');
    await inf.start();
    await eventually(() => (sim.faults.openWatches() > 0 ? true : undefined));
    sim.faults.destroyWatchSockets();
    await eventually(() => (seen.errors.length > 0 ? true : undefined));
    expect(String(seen.errors[0])).toMatch(/terminated|socket|closed/i);
    // Stopped means no watch left open: then nothing created afterwards can reach it.
    await eventually(() => (sim.faults.openWatches() === 0 ? true : undefined));
    await core.createNamespacedSecret({ namespace: 'i2', body: { metadata: { name: 'unseen' } } });
    expect(sim.faults.openWatches()).toBe(0);
    expect(seen.added).not.toContain('unseen');
    await inf.stop();
  });

  for (const mode of ['event', 'http'] as const) {
    it(`relists after a 410 answered as ${mode === 'event' ? 'an in-stream ERROR event' : 'HTTP 410'}, firing delete for objects gone meanwhile`, async () => {
      const ns = `i3-${mode}`;
      await namespace(ns);
      await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'keep' } } });
      await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'vanish' } } });
      const { inf, seen } = informerOn(ns);
      await inf.start();
      await eventually(() => (seen.added.length === 2 && sim.faults.openWatches() > 0 ? true : undefined));
      const lists = sim.counters.get('list', 'secrets');
      sim.faults.expireNextWatch(mode, 'secrets');
      sim.faults.closeWatches();
      // Gone while no watch is open: only the relist can reveal it.
      sim.store.delete('secrets', ns, 'vanish');
      await eventually(() => (seen.deleted.includes('vanish') ? true : undefined));
      expect(sim.counters.get('list', 'secrets')).toBeGreaterThan(lists);
      await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'later' } } });
      await eventually(() => (seen.added.includes('later') ? true : undefined));
      expect(seen.errors).toHaveLength(0);
      await inf.stop();
    });
  }
});
