/**
 * Scale of the Kubernetes API simulator: 50,000 Secrets and 10,000 custom resources in memory, a
 * 50,000-item list over HTTP while the event loop's worst delay is measured, and watch fan-out latency
 * from one write to N open watches. Prints numbers; asserts nothing.
 *
 *   npx tsx bench/kube-sim-scale.ts [--secrets 50000] [--crs 10000] [--watchers 200] [--writes 20]
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startKubeSim } from '../test/kube-sim/index.js';
import { widgetCrd, WIDGETS } from '../test/kube-sim/test-fixtures.js';

const { values } = parseArgs({
  options: {
    secrets: { type: 'string', default: '50000' },
    crs: { type: 'string', default: '10000' },
    watchers: { type: 'string', default: '200' },
    writes: { type: 'string', default: '20' },
  },
});
const SECRETS = Number(values.secrets);
const CRS = Number(values.crs);
const WATCHERS = Number(values.watchers);
const WRITES = Number(values.writes);

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}
const ms = (n: number): string => `${n.toFixed(2)} ms`;

const sim = await startKubeSim({ historySize: 10_000 });
sim.store.create('namespaces', { metadata: { name: 'bench' } });
sim.store.create('customresourcedefinitions.apiextensions.k8s.io', widgetCrd());

let t = performance.now();
for (let i = 0; i < SECRETS; i++) {
  sim.store.create('secrets', {
    metadata: { name: `secret-${String(i).padStart(6, '0')}`, namespace: 'bench', labels: { app: 'bench', shard: String(i % 16) } },
    data: { value: Buffer.from(`value-${i}-${'x'.repeat(64)}`).toString('base64') },
  });
}
console.log(`load ${SECRETS} secrets: ${ms(performance.now() - t)}`);
t = performance.now();
for (let i = 0; i < CRS; i++) {
  sim.store.create(WIDGETS, { apiVersion: 'sim.example.com/v1', kind: 'Widget', metadata: { name: `w-${i}`, namespace: 'bench' }, spec: { size: 1 + (i % 10) } });
}
console.log(`load ${CRS} custom resources: ${ms(performance.now() - t)}`);
console.log(`heap used: ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);

/** Worst event-loop delay of this process over `ms` with nothing to do: the machine's own noise. */
async function idleDelay(ms: number): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  await new Promise((r) => setTimeout(r, ms));
  h.disable();
  return h.max / 1e6;
}

/**
 * GET a path from a separate process (curl, so the client's parsing does not run on this event loop)
 * and measure this process's worst event-loop delay while the list streams.
 */
async function listOnce(path: string, accept = 'application/json'): Promise<{ bytes: number; elapsed: number; maxDelay: number }> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  const start = performance.now();
  const child = spawn('curl', ['-s', '-o', '/dev/null', '-w', '%{size_download}', '-H', `Authorization: Bearer ${sim.adminToken}`, '-H', `Accept: ${accept}`, `${sim.url}${path}`]);
  child.once('spawn', () => h.enable());
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  h.disable();
  if (code !== 0) throw new Error(`curl exited ${code}`);
  return { bytes: Number(out), elapsed: performance.now() - start, maxDelay: h.max / 1e6 };
}

console.log(`baseline: idle event loop max delay over 2 s ${ms(await idleDelay(2000))} (machine load ${loadavg()[0]?.toFixed(1)})`);
for (const [label, path, accept] of [
  // Control: the same measurement around a 5-item list shows what the machine and the child process cost.
  ['control: list 5 secrets', '/api/v1/namespaces/bench/secrets?limit=5', undefined],
  [`list ${SECRETS} secrets (full)`, '/api/v1/namespaces/bench/secrets', undefined],
  [`list ${SECRETS} secrets (metadata-only)`, '/api/v1/namespaces/bench/secrets', 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1'],
  [`list ${CRS} custom resources`, '/apis/sim.example.com/v1/namespaces/bench/widgets', undefined],
] as const) {
  for (let run = 1; run <= 3; run++) {
    const r = await listOnce(path, accept);
    console.log(`${label} #${run}: ${(r.bytes / 2 ** 20).toFixed(1)} MiB in ${ms(r.elapsed)}; event loop max delay ${ms(r.maxDelay)}`);
  }
}

// Watch fan-out: N open watches on the secrets collection, one write at a time.
const rv = sim.store.resourceVersion;
let pending: { name: string; start: number; got: number[]; done: () => void } | undefined;
const sockets: { destroy: () => void }[] = [];
await Promise.all(
  Array.from(
    { length: WATCHERS },
    () =>
      new Promise<void>((resolve, reject) => {
        const req = request(
          `${sim.url}/api/v1/namespaces/bench/secrets?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3Dsecret-000001`,
          { headers: { Authorization: `Bearer ${sim.adminToken}` } },
          (res) => {
            let buf = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              buf += chunk;
              let nl: number;
              while ((nl = buf.indexOf('\n')) >= 0) {
                buf = buf.slice(nl + 1);
                const p = pending;
                if (p) {
                  p.got.push(performance.now() - p.start);
                  if (p.got.length === WATCHERS) p.done();
                }
              }
            });
            resolve();
          },
        );
        req.on('error', reject);
        sockets.push({ destroy: () => req.destroy() });
        req.end();
      }),
  ),
);
while (sim.faults.openWatches() < WATCHERS) await new Promise((r) => setTimeout(r, 10));

const perWrite: number[] = [];
const all: number[] = [];
for (let i = 0; i < WRITES; i++) {
  await new Promise<void>((resolve) => {
    pending = { name: 'secret-000001', start: performance.now(), got: [], done: resolve };
    sim.store.patch('secrets', 'bench', 'secret-000001', { metadata: { labels: { rev: String(i) } } });
  });
  const got = (pending as { got: number[] } | undefined)?.got ?? [];
  pending = undefined;
  perWrite.push(Math.max(...got));
  all.push(...got);
}
all.sort((a, b) => a - b);
perWrite.sort((a, b) => a - b);
console.log(
  `watch fan-out to ${WATCHERS} watches over ${WRITES} writes: per-delivery p50 ${ms(quantile(all, 0.5))}, p99 ${ms(quantile(all, 0.99))}; last watcher reached: median ${ms(quantile(perWrite, 0.5))}, max ${ms(perWrite[perWrite.length - 1] ?? NaN)}`,
);

for (const s of sockets) s.destroy();
await sim.close();
