/**
 * A work queue of CR keys in the manner of client-go's.
 *
 * Invariant: every key is in at most one of `waiting` (the two ordered
 * queues) and `processing`; a key is in `dirty` exactly when it needs work.
 * - add: a dirty key is not queued twice; a key being processed is only
 *   marked dirty, and done() queues it again. So keys are deduplicated and no
 *   two workers ever hold the same key.
 * - get: hands out 'change' keys before any 'resync' key, so under the vault's
 *   rate limit a rotation never waits behind a backlog of periodic refreshes.
 *   Re-adding a key as 'change' raises its priority.
 * - shutDown: stops intake and hands out no more keys; drain() resolves when
 *   in-flight keys are done. Keys still waiting are dropped on purpose: the
 *   controller is level-triggered and the next start relists everything.
 */
import { ItemBackoff, type BackoffOptions } from './backoff.js';

export type Priority = 'change' | 'resync';

/** setTimeout treats delays above 2^31-1 ms as 1 ms; clamp instead. */
const MAX_TIMER_MS = 2_147_483_647;

interface Delayed {
  at: number;
  priority: Priority;
  timer: NodeJS.Timeout;
}

export interface WorkQueueOptions {
  backoff?: BackoffOptions;
}

export class WorkQueue {
  private readonly queues: Record<Priority, Set<string>> = { change: new Set(), resync: new Set() };
  /** Key → the priority it will be queued with. */
  private readonly dirty = new Map<string, Priority>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, Delayed>();
  private readonly getters: (() => void)[] = [];
  private readonly drainers: (() => void)[] = [];
  private shuttingDown = false;
  readonly backoff: ItemBackoff;

  constructor(options: WorkQueueOptions = {}) {
    this.backoff = new ItemBackoff(options.backoff);
  }

  /** Keys waiting to be handed out. */
  get length(): number {
    return this.queues.change.size + this.queues.resync.size;
  }

  /** Keys a worker currently holds. */
  get inFlight(): number {
    return this.processing.size;
  }

  /** Keys scheduled by addAfter/addRateLimited that have not come due. */
  get pendingDelayed(): number {
    return this.delayed.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string, priority: Priority = 'change'): void {
    if (this.shuttingDown) return;
    const current = this.dirty.get(key);
    if (current !== undefined) {
      if (current === 'resync' && priority === 'change') {
        this.dirty.set(key, 'change');
        if (this.queues.resync.delete(key)) this.queues.change.add(key);
      }
      return;
    }
    this.dirty.set(key, priority);
    if (this.processing.has(key)) return;
    this.queues[priority].add(key);
    this.wakeOne();
  }

  /** Adds `key` after `ms`; if it is already scheduled sooner, the sooner time stands. */
  addAfter(key: string, ms: number, priority: Priority = 'change'): void {
    if (this.shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key, priority);
      return;
    }
    const delay = Math.min(ms, MAX_TIMER_MS);
    const at = Date.now() + delay;
    const existing = this.delayed.get(key);
    if (existing) {
      if (existing.at <= at) {
        if (priority === 'change') existing.priority = 'change';
        return;
      }
      clearTimeout(existing.timer);
      if (existing.priority === 'change') priority = 'change';
    }
    const timer = setTimeout(() => {
      const entry = this.delayed.get(key);
      this.delayed.delete(key);
      this.add(key, entry?.priority ?? priority);
    }, delay);
    timer.unref();
    this.delayed.set(key, { at, priority, timer });
  }

  /** Adds `key` after its next per-item backoff delay; returns that delay. */
  addRateLimited(key: string, priority: Priority = 'change'): number {
    const delay = this.backoff.next(key);
    this.addAfter(key, delay, priority);
    return delay;
  }

  /** Ends `key`'s failure streak. */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  /**
   * For a key whose object is gone: drops its scheduled retry or refresh and
   * its failure streak, so no timer outlives the object (thousands of deleted
   * CRs would otherwise each keep one for up to the backoff cap).
   */
  cancel(key: string): void {
    const d = this.delayed.get(key);
    if (d) clearTimeout(d.timer);
    this.delayed.delete(key);
    this.backoff.forget(key);
  }

  /** Consecutive failures recorded for `key`. */
  numRequeues(key: string): number {
    return this.backoff.failuresOf(key);
  }

  /**
   * Waits for a key and marks it processing; the caller must call done(key).
   * Resolves undefined once the queue shuts down or `signal` aborts.
   */
  async get(signal?: AbortSignal): Promise<string | undefined> {
    for (;;) {
      if (this.shuttingDown || signal?.aborted) return undefined;
      const key = this.take();
      if (key !== undefined) return key;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = (): void => {
          const i = this.getters.indexOf(wake);
          if (i >= 0) this.getters.splice(i, 1);
          resolve();
        };
        this.getters.push(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  /** Releases `key`; if it was added meanwhile it is queued again, once. */
  done(key: string): void {
    if (!this.processing.delete(key)) return;
    const priority = this.dirty.get(key);
    if (priority !== undefined && !this.shuttingDown) {
      this.queues[priority].add(key);
      this.wakeOne();
    }
    if (this.processing.size === 0) this.settleDrainers();
  }

  /** Stops intake: add/addAfter are ignored, get() resolves undefined, timers are cancelled. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
    this.queues.change.clear();
    this.queues.resync.clear();
    this.dirty.clear();
    for (const wake of this.getters.splice(0)) wake();
    if (this.processing.size === 0) this.settleDrainers();
  }

  /** Shuts down and resolves when no key is being processed. */
  drain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainers.push(resolve));
  }

  private take(): string | undefined {
    for (const priority of ['change', 'resync'] as const) {
      const q = this.queues[priority];
      const first = q.values().next();
      if (!first.done) {
        const key = first.value;
        q.delete(key);
        this.dirty.delete(key);
        this.processing.add(key);
        return key;
      }
    }
    return undefined;
  }

  private wakeOne(): void {
    this.getters.shift()?.();
  }

  private settleDrainers(): void {
    for (const resolve of this.drainers.splice(0)) resolve();
  }
}

export type KeyHandler = (key: string, signal: AbortSignal) => Promise<void>;

export interface RunWorkersOptions {
  /** Called when the handler throws; the key is re-added with backoff either way. */
  onError?: (key: string, error: unknown) => void;
}

/**
 * Runs `concurrency` workers taking keys from `queue` until it shuts down or
 * `signal` aborts; resolves when every worker has finished its current key.
 * The handler owns requeue decisions; a throw is treated as a failure.
 */
export async function runWorkers(
  queue: WorkQueue,
  concurrency: number,
  handler: KeyHandler,
  signal: AbortSignal,
  options: RunWorkersOptions = {},
): Promise<void> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get(signal);
      if (key === undefined) return;
      try {
        await handler(key, signal);
      } catch (error) {
        options.onError?.(key, error);
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
}

/** The part of a reconcile result the queue acts on. */
export interface RequeueRequest {
  requeueAfterMs?: number;
  error?: unknown;
}

/**
 * Schedules `key` again from a reconcile result, in controller-runtime's
 * manner: a failure backs off per item, waiting at least the Retry-After the
 * result carries (a floor: a short Retry-After must not cut a long backoff,
 * or a failing CR retries every second); a success ends the failure streak
 * and, with requeueAfterMs (a refresh), comes back as resync work.
 * Returns the delay scheduled, if any.
 */
export function requeue(queue: WorkQueue, key: string, result: RequeueRequest): number | undefined {
  if (result.error !== undefined) {
    const backoffMs = queue.backoff.next(key);
    const delay = Math.max(result.requeueAfterMs ?? 0, backoffMs);
    queue.addAfter(key, delay, 'change');
    return delay;
  }
  queue.forget(key);
  if (result.requeueAfterMs !== undefined) {
    queue.addAfter(key, result.requeueAfterMs, 'resync');
    return result.requeueAfterMs;
  }
  return undefined;
}
