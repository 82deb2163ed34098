/**
 * Per-item exponential backoff: the n-th consecutive failure of a key waits
 * base * 2^(n-1), capped. The defaults (1 s, 5 min) suit a vault limited to
 * 10-60 requests a minute, not client-go's 5 ms.
 */
export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
}

export const DEFAULT_BACKOFF_BASE_MS = 1_000;
export const DEFAULT_BACKOFF_CAP_MS = 5 * 60_000;

export class ItemBackoff {
  readonly baseMs: number;
  readonly capMs: number;
  private readonly failures = new Map<string, number>();

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
    this.capMs = options.capMs ?? DEFAULT_BACKOFF_CAP_MS;
    if (!(this.baseMs > 0) || !(this.capMs >= this.baseMs)) {
      throw new RangeError('backoff needs 0 < baseMs <= capMs');
    }
  }

  /** Records one more failure of `key` and returns how long to wait before retrying it. */
  next(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    // 2^(n-1) overflows to Infinity long after the cap is reached; Math.min handles it.
    return Math.min(this.capMs, this.baseMs * 2 ** (n - 1));
  }

  /** Consecutive failures recorded for `key`. */
  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The key succeeded (or is gone): its next failure starts from base again. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Keys with a failure streak, for metrics. */
  get size(): number {
    return this.failures.size;
  }
}
