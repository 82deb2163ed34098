/**
 * Owns everything around the reconciler, in controller-runtime's manner:
 *
 *   Secret watch (metadata only) ─┐
 *                                 ├─> SecretIndex / Ownership ─> WorkQueue ─> workers ─> reconcile
 *   MixpeekSecret watch ──────────┘
 *
 * Caches run in every replica so a standby takes over warm; workers run only
 * while this replica leads (runWorkers is handed the leadership signal).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { CrCache } from './cr-cache.js';
import { CrWriter } from './cr-writer.js';
import { EventRecorder } from './event-recorder.js';
import { makeKubeApis } from './kube.js';
import { Ownership, claimOf } from './ownership.js';
import { systemClock, type Clock, type ReconcileDeps, type VaultPort } from './ports.js';
import { reconcile } from './reconcile.js';
import { SecretIndex } from './secret-index.js';
import { ApiSecretReader } from './secret-reader.js';
import { GROUP, PLURAL, VERSION, objectKey, splitKey, type StoredMixpeekSecret } from './types.js';
import { startReflector, type PartialObjectMetadata, type Reflector } from './watch.js';
import { WorkQueue, requeue, runWorkers, type Priority } from './workqueue.js';

export const CONTROLLER = 'mixpeeksecret';

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  /** Namespaces to watch; empty means all. */
  namespaces: readonly string[];
  vault: VaultPort;
  concurrency: number;
  resyncPeriodMs: number;
  backoff: { baseMs: number; capMs: number };
  logger: Logger;
  metrics?: Metrics;
  /** Reported as the Events' reportingInstance. */
  instance: string;
  clock?: Clock;
}

function collectionPaths(namespaces: readonly string[], apiPrefix: string, plural: string): string[] {
  if (namespaces.length === 0) return [`${apiPrefix}/${plural}`];
  return namespaces.map((ns) => `${apiPrefix}/namespaces/${encodeURIComponent(ns)}/${plural}`);
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export class Manager {
  readonly queue: WorkQueue;
  private readonly index = new SecretIndex();
  private readonly ownership = new Ownership();
  private readonly crCache: CrCache;
  private readonly crReflectors: Reflector<StoredMixpeekSecret>[];
  private readonly secretReflectors: Reflector<PartialObjectMetadata>[];
  private readonly deps: ReconcileDeps;
  private readonly log: Logger;
  private readonly stopCaches = new AbortController();

  constructor(private readonly options: ManagerOptions) {
    this.log = options.logger.child({ controller: CONTROLLER });
    this.queue = new WorkQueue({ backoff: options.backoff });
    this.crCache = new CrCache((key) => this.cachedCr(key));
    const apis = makeKubeApis(options.kubeConfig);
    const writer = new CrWriter(options.kubeConfig, apis.custom, this.crCache);
    this.deps = {
      crs: this.crCache,
      secrets: new ApiSecretReader(options.kubeConfig, (key) => this.cachedSecret(key)),
      vault: options.vault,
      status: writer,
      finalizers: writer,
      events: new EventRecorder(apis.core, options.instance, this.log),
      ownership: this.ownership,
      clock: options.clock ?? systemClock,
    };
    const signal = this.stopCaches.signal;
    const common = { kubeConfig: options.kubeConfig, logger: this.log, signal, backoff: { baseMs: 500, capMs: 30_000 } };
    this.crReflectors = collectionPaths(options.namespaces, `/apis/${GROUP}/${VERSION}`, PLURAL).map((path, i) =>
      startReflector<StoredMixpeekSecret>({
        ...common,
        path,
        resyncPeriodMs: options.resyncPeriodMs,
        // enqueueAll covers every reflector's CRs: one timer is enough (one per --namespace enqueued each CR that many times).
        ...(i === 0 && { onResync: () => this.enqueueAll('resync') }),
        handlers: {
          onAdd: (cr) => this.crChanged(undefined, cr),
          onUpdate: (old, cr) => this.crChanged(old, cr),
          onDelete: (cr) => this.crDeleted(cr),
        },
        ...(options.metrics && { observer: options.metrics.reflectorObserver('mixpeeksecrets') }),
      }),
    );
    this.secretReflectors = collectionPaths(options.namespaces, '/api/v1', 'secrets').map((path) =>
      startReflector<PartialObjectMetadata>({
        ...common,
        path,
        metadataOnly: true,
        resyncPeriodMs: 0,
        handlers: {
          onAdd: (s) => this.secretChanged(s),
          onUpdate: (old, s) => {
            if (old.metadata.resourceVersion !== s.metadata.resourceVersion) this.secretChanged(s);
          },
          onDelete: (s) => this.secretChanged(s),
        },
        ...(options.metrics && { observer: options.metrics.reflectorObserver('secrets') }),
      }),
    );
  }

  hasSynced(): boolean {
    return [...this.crReflectors, ...this.secretReflectors].every((r) => r.hasSynced());
  }

  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    const all = await Promise.all([...this.crReflectors, ...this.secretReflectors].map((r) => r.waitForSync(signal)));
    return all.every(Boolean);
  }

  /**
   * Runs workers until `leading` aborts (leadership lost: in-flight calls are
   * aborted at once, another replica may already be writing) or the queue is
   * shut down (process shutdown: in-flight work finishes).
   */
  async runWorkers(leading: AbortSignal): Promise<void> {
    if (!(await this.waitForSync(leading))) return;
    this.log.info({ concurrency: this.options.concurrency }, 'caches synced; starting workers');
    this.enqueueAll('resync');
    await runWorkers(this.queue, this.options.concurrency, (key, signal) => this.reconcileKey(key, signal), leading, {
      onError: (key, error) => this.log.error({ key, errorType: error instanceof Error ? error.name : typeof error }, 'reconcile threw'),
    });
  }

  /** Stops intake and waits for in-flight reconciles, at most `graceMs`. Returns whether all finished. */
  async drain(graceMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)));
    const drained = this.queue.drain().then(() => true as const);
    try {
      return await Promise.race([drained, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stopCachesAndWait(): Promise<void> {
    this.stopCaches.abort();
    await Promise.all([...this.crReflectors, ...this.secretReflectors].map((r) => r.done));
  }

  private async reconcileKey(key: string, signal: AbortSignal): Promise<void> {
    const { namespace, name } = splitKey(key);
    const reconcileID = randomBytes(6).toString('hex');
    const logger = this.log.child({ namespace, name, reconcileID });
    const started = performance.now();
    const result = await reconcile(key, { ...this.deps, logger }, signal);
    const seconds = (performance.now() - started) / 1000;
    const metrics = this.options.metrics;
    metrics?.reconcileDone(CONTROLLER, result.outcome, result.reason ?? result.error?.kind, seconds);
    if (result.outcome === 'Pushed' || result.outcome === 'UpToDate') metrics?.syncSucceeded();
    const delay = requeue(this.queue, key, result);
    metrics?.setQueueDepth(CONTROLLER, this.queue.length);
    metrics?.setInFlight(CONTROLLER, this.queue.inFlight);
    logger.debug({ outcome: result.outcome, reason: result.reason, requeueAfterMs: delay, seconds }, 'reconciled');
  }

  private cachedCr(key: string): StoredMixpeekSecret | undefined {
    for (const r of this.crReflectors) {
      const cr = r.get(key);
      if (cr) return cr;
    }
    return undefined;
  }

  private cachedSecret(key: string): PartialObjectMetadata | undefined {
    for (const r of this.secretReflectors) {
      const s = r.get(key);
      if (s) return s;
    }
    return undefined;
  }

  private enqueue(key: string, priority: Priority): void {
    this.queue.add(key, priority);
    this.options.metrics?.setQueueDepth(CONTROLLER, this.queue.length);
  }

  private enqueueAll(priority: Priority): void {
    for (const r of this.crReflectors) for (const cr of r.list()) this.enqueue(objectKey(cr.metadata.namespace, cr.metadata.name), priority);
  }

  private crChanged(old: StoredMixpeekSecret | undefined, cr: StoredMixpeekSecret): void {
    const key = objectKey(cr.metadata.namespace, cr.metadata.name);
    const ownWrite = old !== undefined && this.crCache.isOwnStatusWrite(key, cr);
    this.crCache.observed(key, cr.metadata.resourceVersion);
    this.index.upsert(cr);
    const claim = claimOf(cr);
    const others = claim ? this.ownership.upsert(claim) : this.ownership.remove(key);
    for (const k of others) this.enqueue(k, 'change');
    // Our own status patch coming back through the watch needs no reconcile.
    if (old && ownWrite && old.metadata.generation === cr.metadata.generation && old.metadata.deletionTimestamp === cr.metadata.deletionTimestamp && sameList(old.metadata.finalizers, cr.metadata.finalizers)) {
      return;
    }
    this.enqueue(key, 'change');
  }

  private crDeleted(cr: StoredMixpeekSecret): void {
    const key = objectKey(cr.metadata.namespace, cr.metadata.name);
    this.index.remove(key);
    this.crCache.forget(key);
    for (const k of this.ownership.remove(key)) this.enqueue(k, 'change');
    this.queue.cancel(key);
  }

  private secretChanged(secret: PartialObjectMetadata): void {
    const key = objectKey(secret.metadata.namespace ?? '', secret.metadata.name ?? '');
    for (const crKey of this.index.lookup(key)) this.enqueue(crKey, 'change');
  }
}
