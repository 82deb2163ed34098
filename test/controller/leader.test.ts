import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { startKubeSim } from '../kube-sim/index.js';
import { LeaderElectionConfigError, startLeaderElection, type LeaderElectionOptions, type LeaderElector } from '../../src/controller/leader.js';
import { CapturedLog, createLogger } from '../../src/observability/log.js';

const NS = 'default';
const NAME = 'mixpeek-secret-operator';

async function eventually<T>(check: () => T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Spec {
  holderIdentity?: string;
  renewTime?: string;
  acquireTime?: string;
  leaseDurationSeconds?: number;
  leaseTransitions?: number;
}

interface Candidate {
  elector: LeaderElector;
  started: number;
  stopped: number;
  leadingSignal: AbortSignal | undefined;
}

/** What the scenarios need from an API server holding Leases. */
interface LeaseBackend {
  kubeConfig(): KubeConfig;
  lease(): Spec | undefined;
  /** Writes the lease's spec directly, bypassing clients (another holder, a stale lease). */
  setLease(spec: Spec): void;
  failLeaseUpdates(on: boolean): void;
  close(): Promise<void>;
}

interface StoredLease {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion: string; uid: string };
  spec: Spec;
}

/** A purpose-built Lease endpoint: get, create (409 when present), update with the resourceVersion precondition. */
async function startLeaseServer(): Promise<LeaseBackend> {
  let stored: StoredLease | undefined;
  let rv = 1;
  let failUpdates = false;
  const base = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`;
  const status = (res: ServerResponse, code: number, reason: string): void => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, code }));
  };
  const ok = (res: ServerResponse, code: number, obj: unknown): void => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(obj));
  };
  const write = (body: StoredLease): StoredLease => {
    rv++;
    stored = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: NAME, namespace: NS, resourceVersion: String(rv), uid: 'lease-uid' }, spec: body.spec ?? {} };
    return stored;
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as StoredLease) : undefined;
      if (req.method === 'POST' && path === base) {
        if (stored) return status(res, 409, 'AlreadyExists');
        return ok(res, 201, write(body!));
      }
      if (path !== `${base}/${NAME}`) return status(res, 404, 'NotFound');
      if (req.method === 'GET') return stored ? ok(res, 200, stored) : status(res, 404, 'NotFound');
      if (req.method === 'PUT') {
        if (failUpdates) return status(res, 500, 'InternalError');
        if (!stored) return status(res, 404, 'NotFound');
        if (body?.metadata?.resourceVersion !== stored.metadata.resourceVersion) return status(res, 409, 'Conflict');
        return ok(res, 200, write(body));
      }
      status(res, 405, 'MethodNotAllowed');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
        users: [{ name: 'u', token: 't' }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      });
      return kc;
    },
    lease: () => stored?.spec,
    setLease: (spec) => void write({ spec } as StoredLease),
    failLeaseUpdates: (on) => void (failUpdates = on),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The Kubernetes API simulator as a lease backend. */
async function startSimBackend(): Promise<LeaseBackend> {
  const sim = await startKubeSim();
  const LEASES = 'leases.coordination.k8s.io';
  return {
    kubeConfig: () => sim.kubeConfig(),
    lease: () => (sim.store.get(LEASES, NS, NAME) as { spec?: Spec } | undefined)?.spec,
    setLease(spec) {
      const current = sim.store.get(LEASES, NS, NAME);
      if (current) sim.store.update(LEASES, { ...current, spec });
      else sim.store.create(LEASES, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: NAME, namespace: NS }, spec });
    },
    failLeaseUpdates(on) {
      if (on) sim.faults.failNext({ verb: 'update', resource: 'leases', status: 500, count: 1_000_000 });
      else sim.faults.clear();
    },
    close: () => sim.close(),
  };
}

const backends: Array<[string, () => Promise<LeaseBackend>]> = [
  ['a purpose-built Lease server', startLeaseServer],
  ['the Kubernetes API simulator', startSimBackend],
];

describe.each(backends)('leader election against %s', (_name, startBackend) => {
  let sim: LeaseBackend;
  let log: CapturedLog;
  const electors: LeaderElector[] = [];

  beforeEach(async () => {
    sim = await startBackend();
    log = new CapturedLog();
  });

  afterEach(async () => {
    await Promise.all(electors.splice(0).map((e) => e.stop()));
    await sim.close();
  });

  function lease(): Spec | undefined {
    return sim.lease();
  }

  function candidate(identity: string, extra: Partial<LeaderElectionOptions> = {}): Candidate {
    const c: Candidate = { elector: undefined as unknown as LeaderElector, started: 0, stopped: 0, leadingSignal: undefined };
    c.elector = startLeaderElection({
      kubeConfig: sim.kubeConfig(),
      namespace: NS,
      name: NAME,
      identity,
      leaseDurationMs: 60_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 100,
      onStartedLeading: (signal) => {
        c.started++;
        c.leadingSignal = signal;
      },
      onStoppedLeading: () => {
        c.stopped++;
      },
      logger: createLogger({ level: 'debug', destination: log }),
      ...extra,
    });
    electors.push(c.elector);
    return c;
  }

  it('two candidates contend: exactly one leads, the lease names it, MicroTime on the wire', async () => {
    const a = candidate('pod-a');
    const b = candidate('pod-b');
    const leader = await eventually(() => [a, b].find((c) => c.elector.isLeader()), 'a leader');
    const standby = leader === a ? b : a;
    await eventually(() => standby.elector.observedLeader() === leader.elector.identity, 'the standby sees the leader');
    const renews = lease()!.renewTime;
    await eventually(() => lease()!.renewTime !== renews, 'a renewal');
    expect([a.elector.isLeader(), b.elector.isLeader()].filter(Boolean)).toHaveLength(1);
    expect(leader.started).toBe(1);
    expect(standby.started).toBe(0);
    const spec = lease()!;
    expect(spec.holderIdentity).toBe(leader.elector.identity);
    expect(spec.leaseDurationSeconds).toBe(60);
    expect(spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(spec.acquireTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('stop() drains through onStoppedLeading, then releases so the standby takes over without waiting out the lease', async () => {
    let holderDuringDrain: string | undefined;
    const a = candidate('pod-a', {
      onStartedLeading: () => undefined,
      onStoppedLeading: async () => {
        await new Promise((r) => setTimeout(r, 200));
        holderDuringDrain = lease()?.holderIdentity;
      },
    });
    await eventually(() => a.elector.isLeader(), 'pod-a leads');
    const b = candidate('pod-b');
    await eventually(() => b.elector.observedLeader() === 'pod-a', 'pod-b sees pod-a');
    await a.elector.stop();
    expect(holderDuringDrain).toBe('pod-a');
    expect(a.elector.isLeader()).toBe(false);
    // The lease lasts 60 s: only the release lets pod-b lead within this wait.
    await eventually(() => b.elector.isLeader(), 'pod-b leads after the release', 20_000);
    expect(lease()!.holderIdentity).toBe('pod-b');
    expect(lease()!.leaseTransitions).toBe(1);
  });

  it('a leader whose lease is taken by another holder stops leading at once', async () => {
    const a = candidate('pod-a');
    await eventually(() => a.elector.isLeader(), 'pod-a leads');
    sim.setLease({ ...lease(), holderIdentity: 'intruder', renewTime: new Date().toISOString().replace('Z', '000Z') });
    await eventually(() => a.stopped === 1, 'onStoppedLeading');
    expect(a.elector.isLeader()).toBe(false);
    expect(a.leadingSignal?.aborted).toBe(true);
    expect(a.elector.observedLeader()).toBe('intruder');
    // It campaigns again but respects the intruder's unexpired lease.
    await new Promise((r) => setTimeout(r, 500));
    expect(lease()!.holderIdentity).toBe('intruder');
    expect(a.started).toBe(1);
  });

  it('takes over a lease whose holder stopped renewing, once it has expired', async () => {
    const old = new Date(Date.now() - 3_600_000).toISOString().replace('Z', '000Z');
    sim.setLease({ holderIdentity: 'crashed-pod', leaseDurationSeconds: 1, renewTime: old, acquireTime: old, leaseTransitions: 4 });
    const a = candidate('pod-a');
    await eventually(() => a.elector.observedLeader() === 'crashed-pod', 'pod-a sees the stale holder');
    await eventually(() => a.elector.isLeader(), 'pod-a takes the expired lease');
    expect(lease()!.holderIdentity).toBe('pod-a');
    expect(lease()!.leaseTransitions).toBe(5);
    expect(lease()!.acquireTime).not.toBe(old);
  });

  it('steps down when renewals fail past the renew deadline, and leads again once the API recovers', async () => {
    const a = candidate('pod-a', { leaseDurationMs: 3_000, renewDeadlineMs: 1_000, retryPeriodMs: 100 });
    await eventually(() => a.elector.isLeader(), 'pod-a leads');
    sim.failLeaseUpdates(true);
    await eventually(() => a.stopped === 1, 'step down after the deadline');
    expect(a.elector.isLeader()).toBe(false);
    expect(a.leadingSignal?.aborted).toBe(true);
    sim.failLeaseUpdates(false);
    await eventually(() => a.started === 2, 'leads again');
    expect(a.elector.isLeader()).toBe(true);
    const warnings = log.records().filter((r) => r.level === 'warn').map((r) => String(r.msg));
    expect(warnings).toContain('could not renew the lease in time; stepping down');
  });

  it('only one of several simultaneous candidates wins the create race', async () => {
    const cs = ['p1', 'p2', 'p3', 'p4'].map((id) => candidate(id));
    await eventually(() => cs.some((c) => c.elector.isLeader()), 'a leader');
    await eventually(() => cs.every((c) => c.elector.observedLeader() === lease()?.holderIdentity), 'all agree');
    expect(cs.filter((c) => c.elector.isLeader())).toHaveLength(1);
    expect(cs.reduce((n, c) => n + c.started, 0)).toBe(1);
  });

  it('rejects timings where the leader could outlive its lease', () => {
    expect(() => candidate('x', { leaseDurationMs: 5_000, renewDeadlineMs: 5_000 })).toThrow(LeaderElectionConfigError);
  });
});
