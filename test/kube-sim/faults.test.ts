/** Faults and counters, programmatic and over the `/_sim/` routes (served only when enabled). */
import { ApiException, CoreV1Api, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeSim, type KubeSim } from './index.js';
import { eventually, raw } from './test-fixtures.js';

let sim: KubeSim;
let core: CoreV1Api;

beforeAll(async () => {
  sim = await startKubeSim({ enableFaultRoutes: true });
  core = sim.kubeConfig().makeApiClient(CoreV1Api);
});

afterAll(async () => {
  await sim.close();
});

async function failure(p: Promise<unknown>): Promise<ApiException<unknown>> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiException) return err as ApiException<unknown>;
    throw err;
  }
  throw new Error('expected a failure');
}

describe('request faults', () => {
  it('fails the next N matching requests with 429 and Retry-After, then recovers', async () => {
    sim.faults.failNext({ verb: 'get', resource: 'secrets', status: 429, count: 2, retryAfterSeconds: 3 });
    sim.store.create('secrets', { metadata: { name: 'f', namespace: 'default' } });
    // A different verb is not affected.
    await core.listNamespacedSecret({ namespace: 'default' });
    for (let i = 0; i < 2; i++) {
      const err = await failure(core.readNamespacedSecret({ name: 'f', namespace: 'default' }));
      expect(err.code).toBe(429);
      expect(err.headers['retry-after']).toBe('3');
      expect(JSON.parse(String(err.body))).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 3 } });
    }
    expect((await core.readNamespacedSecret({ name: 'f', namespace: 'default' })).metadata?.name).toBe('f');
  });

  it.each([
    [500, 'InternalError'],
    [503, 'ServiceUnavailable'],
    [409, 'Conflict'],
  ])('fails with %i %s', async (status, reason) => {
    sim.faults.failNext({ verb: 'create', resource: 'secrets', status, count: 1 });
    const err = await failure(core.createNamespacedSecret({ namespace: 'default', body: { metadata: { generateName: 'x-' } } }));
    expect(err.code).toBe(status);
    expect(JSON.parse(String(err.body))).toMatchObject({ reason, code: status });
  });

  it('adds latency to requests', async () => {
    sim.faults.setLatency(200);
    const start = performance.now();
    await core.listNamespace();
    const elapsed = performance.now() - start;
    sim.faults.setLatency(0);
    // A lower bound only: the request cannot be answered before the injected delay.
    expect(elapsed).toBeGreaterThanOrEqual(190);
  });
});

describe('counters', () => {
  it('counts requests by verb and resource, subresources apart, and resets', async () => {
    sim.counters.reset();
    await core.listNamespacedSecret({ namespace: 'default' });
    await core.listNamespacedSecret({ namespace: 'default' });
    await core.readNamespace({ name: 'default' });
    await raw(sim.url, sim.adminToken, 'GET', '/api/v1/namespaces/default/status');
    expect(sim.counters.get('list', 'secrets')).toBe(2);
    expect(sim.counters.get('get', 'namespaces')).toBe(1);
    expect(sim.counters.get('get', 'namespaces/status')).toBe(1);
    expect(sim.counters.snapshot()).toEqual({ 'get:namespaces': 1, 'get:namespaces/status': 1, 'list:secrets': 2 });
    sim.counters.reset();
    expect(sim.counters.snapshot()).toEqual({});
  });
});

describe('/_sim/ routes', () => {
  it('serves counters, failures, watch faults and compaction over HTTP', async () => {
    expect((await raw(sim.url, undefined, 'DELETE', '/_sim/counters')).status).toBe(200);
    await core.listNamespacedSecret({ namespace: 'default' });
    expect((await raw(sim.url, undefined, 'GET', '/_sim/counters')).json()).toEqual({ 'list:secrets': 1 });

    expect((await raw(sim.url, undefined, 'POST', '/_sim/fail', { verb: 'list', resource: 'secrets', status: 503, count: 1 })).status).toBe(200);
    expect((await failure(core.listNamespacedSecret({ namespace: 'default' }))).code).toBe(503);

    const events: string[] = [];
    let done: unknown = 'open';
    await new Watch(sim.kubeConfig()).watch('/api/v1/namespaces/default/secrets', { resourceVersion: sim.store.resourceVersion }, (t) => events.push(t), (e: unknown) => {
      done = e;
    });
    await eventually(() => (sim.faults.openWatches() > 0 ? true : undefined));
    expect((await raw(sim.url, undefined, 'POST', '/_sim/watches/close')).json()).toEqual({ closed: 1 });
    await eventually(() => (done === null ? true : undefined));

    done = 'open';
    await new Watch(sim.kubeConfig()).watch('/api/v1/namespaces/default/secrets', { resourceVersion: sim.store.resourceVersion }, (t) => events.push(t), (e: unknown) => {
      done = e;
    });
    await eventually(() => (sim.faults.openWatches() > 0 ? true : undefined));
    expect((await raw(sim.url, undefined, 'POST', '/_sim/watches/destroy')).json()).toEqual({ destroyed: 1 });
    await eventually(() => (done instanceof Error ? true : undefined));

    const rv = sim.store.resourceVersion;
    sim.store.create('secrets', { metadata: { generateName: 'c-', namespace: 'default' } });
    expect((await raw(sim.url, undefined, 'POST', '/_sim/history/compact')).status).toBe(200);
    const old = await raw(sim.url, sim.adminToken, 'GET', `/api/v1/namespaces/default/secrets?watch=true&resourceVersion=${rv}`);
    expect(JSON.parse(old.text.trim())).toMatchObject({ type: 'ERROR', object: { code: 410, reason: 'Expired' } });

    expect((await raw(sim.url, undefined, 'POST', '/_sim/watches/expire-next?mode=http')).status).toBe(200);
    const gone = await raw(sim.url, sim.adminToken, 'GET', '/api/v1/namespaces/default/secrets?watch=true');
    expect(gone.status).toBe(410);
    expect(gone.json()).toMatchObject({ kind: 'Status', code: 410, reason: 'Gone' });

    expect((await raw(sim.url, undefined, 'POST', '/_sim/latency', { ms: 0 })).json()).toEqual({ ms: 0 });
    expect((await raw(sim.url, undefined, 'POST', '/_sim/faults/clear')).status).toBe(200);
  });

  it('does not serve /_sim/ unless enabled', async () => {
    const plain = await startKubeSim();
    try {
      expect((await raw(plain.url, undefined, 'GET', '/_sim/counters')).status).toBe(401);
      expect((await raw(plain.url, plain.adminToken, 'POST', '/_sim/watches/close')).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
