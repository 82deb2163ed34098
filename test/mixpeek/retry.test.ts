import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, backoffDelay, parseRetryAfter, sleep } from '../../src/mixpeek/retry.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-26T10:00:00Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter(['7', '9'], now)).toBe(7000);
  });

  it('reads an HTTP-date as the time left until it', () => {
    expect(parseRetryAfter('Thu, 26 Nov 2026 10:00:05 GMT', now)).toBe(5000);
  });

  it('treats a date in the past as "now"', () => {
    expect(parseRetryAfter('Thu, 26 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });

  it('clamps absurd values', () => {
    expect(parseRetryAfter('999999999', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', now)).toBe(MAX_RETRY_AFTER_MS);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});

describe('backoffDelay (full jitter)', () => {
  it('spans [0, base * 2^(attempt-1)) and grows with the attempt', () => {
    expect(backoffDelay(1, 100, 10_000, () => 0)).toBe(0);
    expect(backoffDelay(1, 100, 10_000, () => 0.999)).toBe(99);
    expect(backoffDelay(2, 100, 10_000, () => 0.5)).toBe(100);
    expect(backoffDelay(4, 100, 10_000, () => 0.5)).toBe(400);
  });

  it('never passes the cap, however many attempts', () => {
    expect(backoffDelay(50, 100, 5_000, () => 0.999)).toBeLessThanOrEqual(5_000);
    expect(backoffDelay(5000, 100, 5_000, () => 1)).toBe(5_000);
  });

  it('draws different delays from different random values (callers spread out)', () => {
    const delays = [0.1, 0.4, 0.8].map((r) => backoffDelay(3, 1000, 60_000, () => r));
    expect(new Set(delays).size).toBe(3);
  });
});

describe('sleep', () => {
  it('resolves after the delay', async () => {
    await expect(sleep(5)).resolves.toBeUndefined();
  });

  it('rejects with the reason as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const reason = new Error('shutting down');
    const waiting = sleep(60_000, controller.signal);
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });

  it('rejects at once for an already aborted signal', async () => {
    await expect(sleep(60_000, AbortSignal.abort())).rejects.toBeInstanceOf(Error);
  });
});
