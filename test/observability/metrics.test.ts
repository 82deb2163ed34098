import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createMetrics, statusClass } from '../../src/observability/metrics.js';
import { startHealthServer, type HealthServer } from '../../src/observability/health.js';

function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const x of (m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)) got[x[1]!] = x[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v) && Object.keys(got).length === Object.keys(labels).length) return Number(m[4]);
  }
  return undefined;
}

describe('createMetrics served over HTTP', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function scrape(): Promise<{ text: string; contentType: string | undefined }> {
    const res = await request(`${server!.url}/metrics`);
    expect(res.statusCode).toBe(200);
    return { text: await res.body.text(), contentType: res.headers['content-type'] as string | undefined };
  }

  it('exposes every operator metric with bounded labels in the Prometheus text format', async () => {
    const metrics = createMetrics();
    server = await startHealthServer({ host: '127.0.0.1', port: 0, metrics });

    metrics.reconcileDone('mixpeeksecret', 'Pushed', 'Synced', 0.2);
    metrics.reconcileDone('mixpeeksecret', 'Pushed', 'Synced', 0.3);
    metrics.reconcileDone('mixpeeksecret', 'Failed', 'RateLimited', 0.01);
    metrics.vaultRequest('update', 200, 0.05);
    metrics.vaultRequest('update', 429, 0.05);
    metrics.vaultRequest('create', undefined);
    metrics.vaultRetry('update');
    metrics.setQueueDepth('mixpeeksecret', 7);
    metrics.setInFlight('mixpeeksecret', 2);
    metrics.setLeader(true);
    metrics.leaderTransition();
    metrics.syncSucceeded(new Date(1_800_000_000_000));
    const obs = metrics.reflectorObserver('secrets');
    obs.listed?.('initial');
    obs.listed?.('relist');
    obs.watchEnded?.('error');
    obs.watchEnded?.('gone');
    obs.event?.('MODIFIED');

    const { text, contentType } = await scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const p = 'mixpeek_operator_';
    expect(sample(text, `${p}reconcile_total`, { controller: 'mixpeeksecret', result: 'pushed', reason: 'Synced' })).toBe(2);
    expect(sample(text, `${p}reconcile_total`, { controller: 'mixpeeksecret', result: 'failed', reason: 'RateLimited' })).toBe(1);
    expect(sample(text, `${p}reconcile_duration_seconds_count`, { controller: 'mixpeeksecret', result: 'pushed' })).toBe(2);
    expect(sample(text, `${p}reconcile_duration_seconds_sum`, { controller: 'mixpeeksecret', result: 'pushed' })).toBeCloseTo(0.5);
    expect(sample(text, `${p}vault_requests_total`, { operation: 'update', status_class: '2xx' })).toBe(1);
    expect(sample(text, `${p}vault_requests_total`, { operation: 'update', status_class: '4xx' })).toBe(1);
    expect(sample(text, `${p}vault_requests_total`, { operation: 'create', status_class: 'network' })).toBe(1);
    expect(sample(text, `${p}vault_retries_total`, { operation: 'update' })).toBe(1);
    expect(sample(text, `${p}workqueue_depth`, { controller: 'mixpeeksecret' })).toBe(7);
    expect(sample(text, `${p}workqueue_in_flight`, { controller: 'mixpeeksecret' })).toBe(2);
    expect(sample(text, `${p}leader`)).toBe(1);
    expect(sample(text, `${p}leader_transitions_total`)).toBe(1);
    expect(sample(text, `${p}last_successful_sync_timestamp_seconds`)).toBe(1_800_000_000);
    expect(sample(text, `${p}watch_lists_total`, { resource: 'secrets', kind: 'relist' })).toBe(1);
    expect(sample(text, `${p}watch_restarts_total`, { resource: 'secrets', reason: 'error' })).toBe(1);
    expect(sample(text, `${p}watch_restarts_total`, { resource: 'secrets', reason: 'gone' })).toBe(1);
    expect(sample(text, `${p}watch_events_total`, { resource: 'secrets', type: 'MODIFIED' })).toBe(1);
    // Process metrics come along on the private registry.
    expect(text).toContain(`${p}process_cpu_seconds_total`);
  });

  it('never lets a caller-supplied string become a label value', async () => {
    const metrics = createMetrics({ processMetrics: false });
    server = await startHealthServer({ host: '127.0.0.1', port: 0, metrics });
    const value = 'hunter2-super-secret-value';
    metrics.reconcileDone(`Controller ${value}`, value, value, 1);
    metrics.vaultRequest(value, 200);
    metrics.vaultRetry(value);
    metrics.setQueueDepth(value, 1);
    const obs = metrics.reflectorObserver(value);
    obs.event?.(value);
    obs.watchEnded?.('error');

    const { text } = await scrape();
    expect(text).not.toContain(value);
    expect(text).not.toContain('hunter2');
    expect(sample(text, 'mixpeek_operator_reconcile_total', { controller: 'other', result: 'other', reason: 'Other' })).toBe(1);
    expect(sample(text, 'mixpeek_operator_vault_requests_total', { operation: 'other', status_class: '2xx' })).toBe(1);
    expect(sample(text, 'mixpeek_operator_watch_events_total', { resource: 'other', type: 'other' })).toBe(1);
  });

  it('keeps registries apart: two operators in one process do not share counters', async () => {
    const a = createMetrics({ processMetrics: false });
    const b = createMetrics({ processMetrics: false });
    a.vaultRetry('update');
    expect(sample(await a.text(), 'mixpeek_operator_vault_retries_total', { operation: 'update' })).toBe(1);
    expect(sample(await b.text(), 'mixpeek_operator_vault_retries_total', { operation: 'update' })).toBeUndefined();
  });

  it('classifies HTTP statuses', () => {
    expect([statusClass(201), statusClass(404), statusClass(503), statusClass(undefined), statusClass(42)]).toEqual(['2xx', '4xx', '5xx', 'network', 'network']);
  });
});
