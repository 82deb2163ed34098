import { abortReason } from './abort.js';
import { systemClock, type Clock } from './clock.js';

/**
 * A token bucket shared by every call of one client.
 *
 * Waiters are served strictly in arrival order: a caller that arrives while
 * others wait queues behind them even if a token is free, so a burst of new
 * work cannot starve a caller that has been waiting. `pauseUntil` holds the
 * whole queue back (one 429 with Retry-After stops everybody, not just the
 * caller that saw it), which is what keeps retries from turning into a storm.
 */

export interface TokenBucketOptions {
  /** Tokens added per second. Default 1 (the pro tier's 60 requests/minute). */
  ratePerSecond?: number;
  /** Most tokens held at once, i.e. the largest burst. Default 5. */
  burst?: number;
  clock?: Clock;
}

interface Waiter {
  resolve: () => void;
  reject: (reason: Error) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  private readonly clock: Clock;
  private tokens: number;
  private refilledAt: number;
  private pausedUntilMs = 0;
  private readonly waiters: Waiter[] = [];
  private timer: unknown;

  constructor(options: TokenBucketOptions = {}) {
    this.ratePerSecond = options.ratePerSecond ?? 1;
    this.burst = options.burst ?? 5;
    if (!Number.isFinite(this.ratePerSecond) || this.ratePerSecond <= 0) {
      throw new RangeError(`rate limit: ratePerSecond must be a positive number, got ${String(options.ratePerSecond)}`);
    }
    if (!Number.isInteger(this.burst) || this.burst < 1) {
      throw new RangeError(`rate limit: burst must be a whole number >= 1, got ${String(options.burst)}`);
    }
    this.clock = options.clock ?? systemClock;
    this.tokens = this.burst;
    this.refilledAt = this.clock.now();
  }

  /** The epoch ms before which no token is handed out (0 when not paused). */
  get pausedUntil(): number {
    return this.pausedUntilMs;
  }

  /** Callers currently waiting for a token. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves when the caller may send one request; rejects with the signal's reason if aborted first. */
  take(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.waiters.length === 0 && this.tryTakeToken()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(abortReason(signal));
          this.schedule();
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
      this.schedule();
    });
  }

  /**
   * Hand out no token before `epochMs` (a later pause wins over an earlier one).
   * The server just said our budget was spent, so the bucket restarts nearly
   * empty at the end of the pause: one token for the first waiter, then the
   * steady rate, rather than a full burst into a limit that was just hit.
   */
  pauseUntil(epochMs: number): void {
    if (epochMs <= this.pausedUntilMs) return;
    this.refill(this.clock.now());
    this.pausedUntilMs = epochMs;
    this.tokens = Math.min(this.tokens, 1);
    this.refilledAt = Math.max(this.refilledAt, epochMs);
    this.schedule();
  }

  private refill(now: number): void {
    const elapsed = now - this.refilledAt;
    // refilledAt lies in the future while paused: nothing accrues until the pause ends.
    if (elapsed <= 0) return;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSecond) / 1000);
    this.refilledAt = now;
  }

  private tryTakeToken(): boolean {
    const now = this.clock.now();
    this.refill(now);
    if (now < this.pausedUntilMs || this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Serve waiters that can go now, then sleep until the next one could. */
  private schedule(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimer(this.timer);
      this.timer = undefined;
    }
    while (this.waiters.length > 0 && this.tryTakeToken()) {
      const waiter = this.waiters.shift() as Waiter;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve();
    }
    if (this.waiters.length === 0) return;
    const now = this.clock.now();
    const untilToken = Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
    const untilUnpaused = this.pausedUntilMs - now;
    const delay = Math.max(1, untilToken, untilUnpaused);
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.schedule();
    }, delay);
  }
}
