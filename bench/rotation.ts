/**
 * Mass rotation: N MixpeekSecrets, each on its own Secret, all rotated at
 * once (as a cluster-wide rotation job would), against the API simulator and
 * the local vault in this process and the operator beside them.
 *
 * The operator runs as its own process, built (`node dist/cli.js run`, as in the image),
 * so its memory is its own. Prints, per phase: wall time to converge, vault
 * requests and API server requests per rotation, and the operator's RSS
 * (current and peak, from /proc). Two vault rate limits
 * are measured side by side in one run: unlimited, and the pro tier's
 * default (1/s, burst 5) scaled up so the run stays short
 * (`--limited-rps`, default 50/s), to show the queue draining at the bucket's
 * pace with no retry storm.
 *
 *   npx tsx bench/rotation.ts [--count 1000] [--limited-rps 50]
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { OPERATOR_KEY, readyOf, startHarness, type Harness } from '../test/integration/harness.js';
import type { StoredMixpeekSecret } from '../src/controller/types.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '1000' }, 'limited-rps': { type: 'string', default: '50' } } });
const COUNT = Number(values.count);
const LIMITED_RPS = Number(values['limited-rps']);

/** Polls every 250 ms: often enough for seconds-long phases, rarely enough not to load the process being measured. */
async function until(done: () => boolean, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('bench phase timed out');
    await new Promise((r) => setTimeout(r, 250));
  }
}

function procMemory(pid: number): { rss: string; peak: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rss: `${(kb('VmRSS') / 1024).toFixed(0)} MB`, peak: `${(kb('VmHWM') / 1024).toFixed(0)} MB` };
}

/** Read straight from the simulator's store (no HTTP), so polling does not load the API server being measured. */
function allSynced(h: Harness, versions: Map<string, string>): boolean {
  const items = h.sim.store.list('mixpeeksecrets.mixpeek.com', 'bench') as unknown as StoredMixpeekSecret[];
  let synced = 0;
  for (const cr of items) {
    if (cr.status?.syncedResourceVersion === versions.get(cr.metadata.name) && readyOf(cr)?.status === 'True') synced += 1;
  }
  return synced === COUNT;
}

function startOperatorProcess(h: Harness, rps: number): { pid: number; metricsUrl: string; stop(): Promise<void> } {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(
    process.execPath,
    ['dist/cli.js', 'run', '--kubeconfig', h.kubeconfigPath, '--vault-url', h.vault.url, '--health-addr', `127.0.0.1:${port}`,
      '--disable-leader-election', '--vault-rps', String(rps), '--vault-burst', String(Math.min(5, rps)), '--log-level', 'warn'],
    { env: { ...process.env, MIXPEEK_API_KEY: OPERATOR_KEY }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    pid: child.pid ?? 0,
    metricsUrl: `http://127.0.0.1:${port}/metrics`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function phase(label: string, rps: number): Promise<Record<string, string | number>> {
  const h = await startHarness();
  try {
    await h.applyCrd();
    await h.createNamespace('bench');
    const versions = new Map<string, string>();
    for (let i = 0; i < COUNT; i++) {
      versions.set(`s${i}`, await h.putSecret('bench', `secret-${i}`, { value: `initial-${i}` }));
      await h.createMixpeekSecret('bench', `s${i}`, { secretRef: { name: `secret-${i}`, key: 'value' }, vaultSecretName: `bench_${i}` });
    }
    const op = startOperatorProcess(h, rps);
    let t = performance.now();
    await until(() => allSynced(h, versions));
    const initialSeconds = (performance.now() - t) / 1000;

    h.sim.counters.reset();
    const vaultBefore = h.vault.requestCount();
    t = performance.now();
    for (let i = 0; i < COUNT; i++) versions.set(`s${i}`, await h.putSecret('bench', `secret-${i}`, { value: `rotated-${i}` }));
    const rotateWrites = 2 * COUNT; // the bench's own read + replace per Secret
    const writeSeconds = (performance.now() - t) / 1000;
    await until(() => allSynced(h, versions));
    const rotationSeconds = (performance.now() - t) / 1000;
    const counts = h.sim.counters.snapshot();
    const apiTotal = Object.values(counts).reduce((a, b) => a + b, 0);
    const mem = procMemory(op.pid);
    const metrics = await (await fetch(op.metricsUrl)).text();
    const heapUsed = Number(/^mixpeek_operator_nodejs_heap_size_used_bytes (\S+)$/m.exec(metrics)?.[1] ?? NaN);
    await op.stop();
    const wrong = [...Array(COUNT).keys()].filter((i) => h.vault.plaintext(`bench_${i}`) !== `rotated-${i}`).length;
    return {
      phase: label,
      'initial sync s': initialSeconds.toFixed(1),
      'writing Secrets s': writeSeconds.toFixed(1),
      'rotation s': rotationSeconds.toFixed(1),
      'rotations/s': (COUNT / rotationSeconds).toFixed(1),
      'vault req/rotation': ((h.vault.requestCount() - vaultBefore) / COUNT).toFixed(2),
      'operator API req/rotation': ((apiTotal - rotateWrites) / COUNT).toFixed(2),
      'vault values wrong': wrong,
      'operator RSS': mem.rss,
      'operator peak RSS': mem.peak,
      'operator heap used': `${(heapUsed / 1048576).toFixed(0)} MB`,
    };
  } finally {
    await h.close();
  }
}

// The operator runs from the build, as it would in the image.
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
const rows = [await phase('vault unlimited', 100_000), await phase(`vault limited ${LIMITED_RPS}/s`, LIMITED_RPS)];
console.log(`mass rotation of ${COUNT} Secrets (simulator and local vault in this process, the operator in its own)`);
console.table(rows);
const [a, b] = rows;
if (a && b) console.log(`ratio limited/unlimited rotation time: ${(Number(b['rotation s']) / Number(a['rotation s'])).toFixed(2)} (expected about ${(COUNT / LIMITED_RPS / Number(a['rotation s'])).toFixed(2)} if the bucket is the bottleneck)`);
process.exit(0);
