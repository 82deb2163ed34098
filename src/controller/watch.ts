/**
 * A list+watch reflector that never gives up.
 *
 * client-node's informer stops for good when a watch connection drops; this one
 * keeps one loop per resource path:
 *
 *   LIST (paged) -> replace the store, diffing against what it held
 *   WATCH from the list's resourceVersion (bookmarks on, server timeout jittered)
 *     clean close / idle timeout -> watch again from the last resourceVersion
 *     dropped socket / error / non-200 -> watch again after exponential backoff
 *     410 Gone (HTTP or in-stream ERROR) -> LIST again and diff
 *
 * Handlers run synchronously in event order; a handler that throws is logged and
 * does not break the stream. For metadata-only reflectors the store holds only
 * metadata, without managedFields or kubectl's last-applied annotation (which
 * on a Secret is a copy of its data).
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../observability/log.js';
import { silentLogger } from '../observability/log.js';
import { ACCEPT_METADATA, ACCEPT_METADATA_LIST, KubeApiError, kubeGetJson, statusCodeOf, withAcceptHeader } from './kube.js';
import { delay } from './delay.js';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: unknown[];
  managedFields?: unknown[];
}

/** The least a watched object has, as parsed from the wire (timestamps are strings). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface PartialObjectMetadata extends KubeObject {
  metadata: ObjectMeta;
}

export interface ReflectorHandlers<T> {
  onAdd(obj: T): void;
  onUpdate(oldObj: T, obj: T): void;
  onDelete(obj: T): void;
  /** Once, after the first LIST has been delivered. */
  onSynced?(): void;
}

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

/** Why a watch ended; `gone` leads to a relist, `error` to a backoff. */
export type WatchEndReason = 'closed' | 'idle' | 'gone' | 'error';

/** Hooks for metrics; all optional and synchronous. */
export interface ReflectorObserver {
  watchEnded?(reason: WatchEndReason): void;
  listed?(kind: 'initial' | 'relist'): void;
  event?(type: string): void;
}

export interface ReflectorOptions<T extends KubeObject> {
  kubeConfig: KubeConfig;
  /** Collection path, e.g. /api/v1/secrets or /apis/mixpeek.com/v1alpha1/namespaces/ns/mixpeeksecrets. */
  path: string;
  metadataOnly?: boolean;
  labelSelector?: string;
  fieldSelector?: string;
  handlers: ReflectorHandlers<T>;
  /** How often onResync fires once synced; 0 disables. Default 10 minutes. */
  resyncPeriodMs?: number;
  onResync?(): void;
  /** Default {baseMs: 500, capMs: 30000}. */
  backoff?: BackoffOptions;
  logger?: Logger;
  signal?: AbortSignal;
  /** LIST page size (limit); default 500. */
  pageSize?: number;
  /** Server-side watch timeout; each watch asks for a random value in [t, 2t). Default 300. */
  watchTimeoutSeconds?: number;
  /** A watch with no bytes for this long is restarted. Default 90 s (bookmarks keep a quiet watch alive). */
  idleTimeoutMs?: number;
  /** A watch that lived this long or delivered an event resets the backoff. Default 10 s. */
  healthyAfterMs?: number;
  observer?: ReflectorObserver;
}

export interface ReflectorCounters {
  /** LIST operations completed (initial and relists). */
  lists: number;
  /** LISTs after the first one (410 or a failed list). */
  relists: number;
  /** Watch requests started. */
  watches: number;
  /** Watches that ended with an error and were restarted with backoff. */
  restarts: number;
  /** Watch events applied (ADDED/MODIFIED/DELETED/BOOKMARK). */
  events: number;
}

export interface Reflector<T> {
  hasSynced(): boolean;
  /** Resolves true once synced, false if the reflector stops (or `signal` aborts) first. */
  waitForSync(signal?: AbortSignal): Promise<boolean>;
  list(): T[];
  get(key: string): T | undefined;
  readonly lastResourceVersion: string;
  readonly counters: Readonly<ReflectorCounters>;
  stop(): void;
  /** Settles when the loop has exited after stop() or the signal. */
  readonly done: Promise<void>;
}

/** namespace/name, or name for cluster-scoped objects. */
export function objectKey(obj: KubeObject): string {
  const name = obj.metadata?.name ?? '';
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function metadataOnlyView(obj: KubeObject): PartialObjectMetadata {
  const meta: ObjectMeta = { ...(obj.metadata ?? {}) };
  delete meta.managedFields;
  if (meta.annotations && LAST_APPLIED in meta.annotations) {
    const annotations = { ...meta.annotations };
    delete annotations[LAST_APPLIED];
    meta.annotations = annotations;
  }
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata: meta };
}

interface ListPage {
  items?: unknown[];
  metadata?: { resourceVersion?: string; continue?: string };
}

type WatchOutcome = { reason: WatchEndReason; healthy: boolean; error?: unknown } | { reason: 'aborted' };

class Gone extends Error {}

export function startReflector<T extends KubeObject>(options: ReflectorOptions<T>): Reflector<T> {
  return new ReflectorLoop<T>(options);
}

class ReflectorLoop<T extends KubeObject> implements Reflector<T> {
  private readonly store = new Map<string, T>();
  private readonly controller = new AbortController();
  private readonly log: Logger;
  private synced = false;
  private readonly syncWaiters = new Set<(ok: boolean) => void>();
  private rv = '';
  private failures = 0;
  private resyncTimer: NodeJS.Timeout | undefined;
  readonly counters: ReflectorCounters = { lists: 0, relists: 0, watches: 0, restarts: 0, events: 0 };
  readonly done: Promise<void>;

  constructor(private readonly options: ReflectorOptions<T>) {
    this.log = (options.logger ?? silentLogger()).child({ component: 'reflector', path: options.path });
    const outer = options.signal;
    if (outer) {
      if (outer.aborted) this.controller.abort();
      else outer.addEventListener('abort', () => this.stop(), { once: true });
    }
    this.done = this.run().finally(() => {
      if (this.resyncTimer) clearInterval(this.resyncTimer);
      for (const w of this.syncWaiters) w(false);
      this.syncWaiters.clear();
    });
  }

  get lastResourceVersion(): string {
    return this.rv;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.controller.signal.aborted || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const settle = (ok: boolean): void => {
        this.syncWaiters.delete(settle);
        signal?.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onAbort = (): void => settle(false);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.add(settle);
    });
  }

  list(): T[] {
    return [...this.store.values()];
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  stop(): void {
    this.controller.abort();
  }

  private get signal(): AbortSignal {
    return this.controller.signal;
  }

  private async run(): Promise<void> {
    let needList = true;
    while (!this.signal.aborted) {
      if (needList) {
        try {
          await this.listAndReplace();
          needList = false;
        } catch (err) {
          if (this.signal.aborted) return;
          this.failures++;
          const waitMs = this.backoffDelay();
          this.log.warn({ err: describe(err), retryInMs: waitMs }, 'list failed');
          await delay(waitMs, this.signal);
          continue;
        }
      }
      const outcome = await this.watchOnce();
      if (outcome.reason === 'aborted') return;
      this.options.observer?.watchEnded?.(outcome.reason);
      if (outcome.healthy) this.failures = 0;
      switch (outcome.reason) {
        case 'closed':
        case 'idle':
          this.log.debug({ reason: outcome.reason, resourceVersion: this.rv }, 'watch ended; resuming');
          await this.pauseIfFlapping(outcome.healthy);
          break;
        case 'gone':
          this.log.info({ resourceVersion: this.rv }, 'watch answered 410 Gone; relisting');
          needList = true;
          await this.pauseIfFlapping(outcome.healthy);
          break;
        case 'error': {
          this.counters.restarts++;
          this.failures++;
          const waitMs = this.backoffDelay();
          this.log.warn({ err: describe(outcome.error), retryInMs: waitMs }, 'watch failed; restarting');
          await delay(waitMs, this.signal);
          break;
        }
      }
    }
  }

  /**
   * A server that ends every watch at once, cleanly or with 410, would turn the
   * loop into a busy one: the second such end in a row waits like a failure.
   */
  private async pauseIfFlapping(healthy: boolean): Promise<void> {
    if (healthy) return;
    this.failures++;
    if (this.failures > 1) await delay(this.backoffDelay(), this.signal);
  }

  /** Full jitter over [d/2, d), d doubling from baseMs up to capMs. */
  private backoffDelay(): number {
    const { baseMs, capMs } = this.options.backoff ?? { baseMs: 500, capMs: 30_000 };
    const d = Math.min(capMs, baseMs * 2 ** Math.min(this.failures - 1, 30));
    return Math.round(d / 2 + (Math.random() * d) / 2);
  }

  private query(extra: Record<string, string>): Record<string, string> {
    const q: Record<string, string> = {};
    if (this.options.labelSelector) q.labelSelector = this.options.labelSelector;
    if (this.options.fieldSelector) q.fieldSelector = this.options.fieldSelector;
    return { ...q, ...extra };
  }

  private view(raw: unknown): T {
    const obj = raw as KubeObject;
    return (this.options.metadataOnly ? metadataOnlyView(obj) : obj) as T;
  }

  private async listAll(paged: boolean): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    const accept = this.options.metadataOnly ? ACCEPT_METADATA_LIST : 'application/json';
    do {
      const q = this.query(paged ? { limit: String(this.options.pageSize ?? 500) } : {});
      if (cont) q.continue = cont;
      const qs = new URLSearchParams(q).toString();
      let page: ListPage;
      try {
        page = (await kubeGetJson(this.options.kubeConfig, this.options.path + (qs ? `?${qs}` : ''), {
          accept,
          signal: this.signal,
        })) as ListPage;
      } catch (err) {
        // An expired continue token: start over without paging.
        if (cont && statusCodeOf(err) === 410) throw new Gone();
        throw err;
      }
      for (const item of page.items ?? []) items.push(this.view(item));
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, resourceVersion };
  }

  private async listAndReplace(): Promise<void> {
    let result;
    try {
      result = await this.listAll(true);
    } catch (err) {
      if (!(err instanceof Gone)) throw err;
      result = await this.listAll(false);
    }
    if (this.signal.aborted) return;
    const initial = this.counters.lists === 0;
    this.counters.lists++;
    if (!initial) this.counters.relists++;
    this.options.observer?.listed?.(initial ? 'initial' : 'relist');
    this.rv = result.resourceVersion;

    const fresh = new Map<string, T>();
    for (const obj of result.items) fresh.set(objectKey(obj), obj);
    const previous = new Map(this.store);
    this.store.clear();
    for (const [k, v] of fresh) this.store.set(k, v);

    const h = this.options.handlers;
    for (const [k, old] of previous) {
      if (!fresh.has(k)) this.call(() => h.onDelete(old));
    }
    for (const [k, obj] of fresh) {
      const old = previous.get(k);
      if (!old) this.call(() => h.onAdd(obj));
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.call(() => h.onUpdate(old, obj));
    }
    this.log.debug({ items: fresh.size, resourceVersion: this.rv, initial }, 'listed');
    if (!this.synced) {
      this.synced = true;
      for (const w of [...this.syncWaiters]) w(true);
      if (h.onSynced) this.call(() => h.onSynced?.());
      this.startResync();
    }
  }

  private startResync(): void {
    const period = this.options.resyncPeriodMs ?? 600_000;
    if (period <= 0 || !this.options.onResync) return;
    this.resyncTimer = setInterval(() => this.call(() => this.options.onResync?.()), period);
    this.resyncTimer.unref();
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err: describe(err) }, 'reflector handler threw');
    }
  }

  private watchOnce(): Promise<WatchOutcome> {
    const base = this.options.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = base + Math.floor(Math.random() * base);
    const kc = this.options.metadataOnly ? withAcceptHeader(this.options.kubeConfig, ACCEPT_METADATA) : this.options.kubeConfig;
    const watch = new Watch(kc);
    // Watch's inactivity timeout (30 s) is private in the typings; a quiet watch
    // only gets a bookmark about once a minute, so widen it when the field exists.
    const tunable = watch as unknown as { requestTimeoutMs?: number };
    if (typeof tunable.requestTimeoutMs === 'number') tunable.requestTimeoutMs = this.options.idleTimeoutMs ?? 90_000;
    const healthyAfterMs = this.options.healthyAfterMs ?? 10_000;
    const startedAt = Date.now();
    let sawEvent = false;
    this.counters.watches++;

    return new Promise<WatchOutcome>((resolve) => {
      let finished = false;
      let request: AbortController | undefined;
      const finish = (reason: WatchEndReason | 'aborted', error?: unknown): void => {
        if (finished) return;
        finished = true;
        this.signal.removeEventListener('abort', onAbort);
        request?.abort();
        if (reason === 'aborted') resolve({ reason });
        else resolve({ reason, error, healthy: sawEvent || Date.now() - startedAt >= healthyAfterMs });
      };
      const onAbort = (): void => finish('aborted');
      if (this.signal.aborted) return finish('aborted');
      this.signal.addEventListener('abort', onAbort, { once: true });

      const onEvent = (type: string, raw: unknown): void => {
        if (finished) return;
        if (type === 'ERROR') {
          const code = (raw as { code?: unknown } | null)?.code;
          finish(code === 410 ? 'gone' : 'error', new KubeApiError('Unknown', typeof code === 'number' ? code : undefined, 'WatchErrorEvent', `WATCH ${this.options.path}`));
          return;
        }
        sawEvent = true;
        this.apply(type, raw);
      };
      const onDone = (err: unknown): void => {
        if (finished) return;
        if (err === null || err === undefined) return finish('closed');
        if (this.signal.aborted) return finish('aborted');
        if (err instanceof Error && err.name === 'TimeoutError') return finish('idle');
        if (statusCodeOf(err) === 410) return finish('gone');
        finish('error', err);
      };
      const query: Record<string, string> = this.query({
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(timeoutSeconds),
      });
      if (this.rv) query.resourceVersion = this.rv;
      watch.watch(this.options.path, query, onEvent, onDone).then(
        (c) => {
          request = c;
          if (finished) c.abort();
        },
        (err: unknown) => onDone(err ?? new Error('watch failed')),
      );
    });
  }

  private apply(type: string, raw: unknown): void {
    if (typeof raw !== 'object' || raw === null) return;
    const obj = this.view(raw);
    const rv = obj.metadata?.resourceVersion;
    this.counters.events++;
    this.options.observer?.event?.(type);
    if (type === 'BOOKMARK') {
      if (rv) this.rv = rv;
      return;
    }
    const key = objectKey(obj);
    const old = this.store.get(key);
    const h = this.options.handlers;
    switch (type) {
      case 'ADDED':
      case 'MODIFIED':
        this.store.set(key, obj);
        if (old) this.call(() => h.onUpdate(old, obj));
        else this.call(() => h.onAdd(obj));
        break;
      case 'DELETED':
        this.store.delete(key);
        this.call(() => h.onDelete(obj));
        break;
      default:
        return;
    }
    if (rv) this.rv = rv;
  }
}

/** A loggable description of an error without bodies: name, HTTP code, message. */
function describe(err: unknown): Record<string, unknown> {
  if (err instanceof KubeApiError) return { kind: err.kind, code: err.code, reason: err.reason, message: err.message };
  if (err instanceof Error) {
    const cause = (err as { cause?: { code?: unknown } }).cause;
    return { name: err.name, message: err.message.slice(0, 200), code: statusCodeOf(err) ?? cause?.code };
  }
  return { message: String(err).slice(0, 200) };
}
