/**
 * Fault injection: the failures a controller must survive, on demand. Watch faults act on the hub's
 * open streams; request faults are consulted by the server before a request is handled.
 */
import { injected, type ApiError } from './status-errors.js';
import type { ExpiredMode } from './watch.js';
import type { WatchHub } from './watch-hub.js';

export interface FailRule {
  /** Kubernetes verb (get, list, watch, create, update, patch, delete); any when absent. */
  verb?: string;
  /** Resource as counted (`secrets`, `mixpeeksecrets/status`); any when absent. */
  resource?: string;
  /** HTTP status to answer: 429 (with Retry-After), 500, 503, 409 get real-shaped Status bodies. */
  status: number;
  count: number;
  retryAfterSeconds?: number;
}

export class Faults {
  private rules: FailRule[] = [];
  private expireQueue: { mode: ExpiredMode; resource: string | undefined }[] = [];
  latencyMs = 0;

  constructor(
    private readonly hub: WatchHub,
    private readonly currentRv: () => number,
  ) {}

  /** Ends every open watch as a server-side timeout does: the chunked body completes. Returns how many. */
  closeWatches(): number {
    const all = this.hub.all();
    for (const s of all) s.closeCleanly();
    return all.length;
  }

  /** Drops the TCP connection of every open watch mid-stream. Returns how many. */
  destroyWatchSockets(): number {
    const all = this.hub.all();
    for (const s of all) s.destroySocket();
    return all.length;
  }

  /** The next watch (optionally of one resource) is answered 410, as HTTP 410 or an in-stream ERROR event. */
  expireNextWatch(mode: ExpiredMode = 'event', resource?: string): void {
    this.expireQueue.push({ mode, resource });
  }

  /** Forgets the watch history: any watch from an older resourceVersion gets 410. */
  compactHistory(): void {
    this.hub.compact(this.currentRv());
  }

  failNext(rule: FailRule): void {
    this.rules.push({ ...rule });
  }

  setLatency(ms: number): void {
    this.latencyMs = Math.max(0, ms);
  }

  clear(): void {
    this.rules = [];
    this.expireQueue = [];
    this.latencyMs = 0;
  }

  /** Consumes a matching failure rule, if any. */
  takeFailure(verb: string, resource: string): { error: ApiError; retryAfterSeconds: number | undefined } | undefined {
    const rule = this.rules.find((r) => r.count > 0 && (r.verb === undefined || r.verb === verb) && (r.resource === undefined || r.resource === resource));
    if (!rule) return undefined;
    rule.count -= 1;
    this.rules = this.rules.filter((r) => r.count > 0);
    const retryAfterSeconds = rule.status === 429 ? (rule.retryAfterSeconds ?? 1) : rule.retryAfterSeconds;
    return { error: injected(rule.status, retryAfterSeconds), retryAfterSeconds };
  }

  takeExpiredWatch(resource: string): ExpiredMode | undefined {
    const i = this.expireQueue.findIndex((e) => e.resource === undefined || e.resource === resource);
    if (i < 0) return undefined;
    const [e] = this.expireQueue.splice(i, 1);
    return e?.mode;
  }
}
