/**
 * The real API's per-route rate limit (10/min free, 60/min pro), per API key:
 * a token bucket per (key, route) holding up to `perMinute` requests and
 * refilling at perMinute/60 per second. Off unless configured.
 */
export class RouteRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.perMs = perMinute / 60_000;
  }

  /** Takes one request; returns 0 when allowed, else the seconds to wait (Retry-After, at least 1). */
  take(apiKey: string, route: string): number {
    const id = `${route}\u0000${apiKey}`;
    const t = this.now();
    const b = this.buckets.get(id) ?? { tokens: this.perMinute, at: t };
    b.tokens = Math.min(this.perMinute, b.tokens + (t - b.at) * this.perMs);
    b.at = t;
    this.buckets.set(id, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
  }

  clear(): void {
    this.buckets.clear();
  }
}
