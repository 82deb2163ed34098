import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createServer } from 'node:net';
import { startHealthServer, HealthServerError, type HealthServer } from '../../src/observability/health.js';
import { createMetrics } from '../../src/observability/metrics.js';

async function get(url: string, method: 'GET' | 'HEAD' | 'POST' = 'GET'): Promise<{ status: number; body: string }> {
  const res = await request(url, { method });
  return { status: res.statusCode, body: await res.body.text() };
}

describe('startHealthServer', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers /healthz while the process runs and /readyz only when every check passes', async () => {
    const state = { synced: false, leaderOrStandby: true };
    server = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      readiness: { 'caches-synced': () => state.synced, 'leader-or-standby': () => state.leaderOrStandby },
    });
    expect(await get(`${server.url}/healthz`)).toEqual({ status: 200, body: 'ok' });

    const notReady = await get(`${server.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.body).toContain('[-]caches-synced failed');
    expect(notReady.body).toContain('[+]leader-or-standby ok');

    state.synced = true;
    expect(await get(`${server.url}/readyz`)).toEqual({ status: 200, body: 'ok' });
    const verbose = await get(`${server.url}/readyz?verbose`);
    expect(verbose.body).toContain('[+]caches-synced ok');

    state.leaderOrStandby = false;
    expect((await get(`${server.url}/readyz`)).status).toBe(503);
  });

  it('treats a check that throws as failed, and liveness checks gate /healthz', async () => {
    let alive = true;
    server = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      readiness: {
        broken: () => {
          throw new Error('boom');
        },
      },
      liveness: { 'event-loop': () => alive },
    });
    expect((await get(`${server.url}/readyz`)).status).toBe(503);
    expect((await get(`${server.url}/healthz`)).status).toBe(200);
    alive = false;
    const res = await get(`${server.url}/healthz`);
    expect(res.status).toBe(503);
    expect(res.body).toContain('[-]event-loop failed');
  });

  it('serves /metrics from the registry, 404 elsewhere, 405 for writes, HEAD without a body', async () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.setLeader(true);
    server = await startHealthServer({ host: '127.0.0.1', port: 0, metrics });
    const m = await get(`${server.url}/metrics`);
    expect(m.status).toBe(200);
    expect(m.body).toContain('mixpeek_operator_leader 1');
    expect((await get(`${server.url}/nope`)).status).toBe(404);
    expect((await get(`${server.url}/metrics`, 'POST')).status).toBe(405);
    expect(await get(`${server.url}/healthz`, 'HEAD')).toEqual({ status: 200, body: '' });
  });

  it('close() returns even while a scraper holds a keep-alive connection, and the port is released', async () => {
    server = await startHealthServer({ host: '127.0.0.1', port: 0 });
    const { port, url } = server;
    expect((await get(`${url}/healthz`)).status).toBe(200); // undici keeps this connection alive
    await server.close();
    server = undefined;
    await new Promise<void>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
    });
  });

  it('fails with a typed error when the port is taken', async () => {
    server = await startHealthServer({ host: '127.0.0.1', port: 0 });
    const err = await startHealthServer({ host: '127.0.0.1', port: server.port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HealthServerError);
    expect((err as HealthServerError).kind).toBe('ListenFailed');
    expect((err as HealthServerError).message).toContain('EADDRINUSE');
  });
});
