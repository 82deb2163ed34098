import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/mixpeek/rate-limit.js';
import { ManualClock, flush } from './manual-clock.js';

function track(promise: Promise<void>): { done: boolean; error: unknown } {
  const state = { done: false, error: undefined as unknown };
  promise.then(
    () => (state.done = true),
    (error: unknown) => (state.error = error),
  );
  return state;
}

describe('TokenBucket', () => {
  it('defaults to 1 request per second with a burst of 5', () => {
    const bucket = new TokenBucket();
    expect(bucket.ratePerSecond).toBe(1);
    expect(bucket.burst).toBe(5);
  });

  it('hands out the burst at once, then one token per 1/rate seconds', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ ratePerSecond: 2, burst: 3, clock });
    const takes = Array.from({ length: 6 }, () => track(bucket.take()));
    await flush();
    expect(takes.map((t) => t.done)).toEqual([true, true, true, false, false, false]);

    await clock.advance(499);
    expect(takes[3]?.done).toBe(false);
    await clock.advance(1);
    expect(takes.map((t) => t.done)).toEqual([true, true, true, true, false, false]);
    await clock.advance(500);
    expect(takes[4]?.done).toBe(true);
    expect(takes[5]?.done).toBe(false);
    await clock.advance(500);
    expect(takes[5]?.done).toBe(true);
  });

  it('refills no more than the burst while idle', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 2, clock });
    await clock.advance(60_000);
    const takes = Array.from({ length: 3 }, () => track(bucket.take()));
    await flush();
    expect(takes.map((t) => t.done)).toEqual([true, true, false]);
  });

  it('serves waiters first come, first served', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1, clock });
    await bucket.take();
    const order: string[] = [];
    const a = bucket.take().then(() => order.push('a'));
    const b = bucket.take().then(() => order.push('b'));
    const c = bucket.take().then(() => order.push('c'));
    await clock.advance(3000);
    await Promise.all([a, b, c]);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('lets a waiter leave the queue when its signal aborts, and the next one moves up', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1, clock });
    await bucket.take();
    const controller = new AbortController();
    const reason = new Error('stop');
    const first = track(bucket.take(controller.signal));
    const second = track(bucket.take());
    expect(bucket.waiting).toBe(2);
    controller.abort(reason);
    await flush();
    expect(first.error).toBe(reason);
    expect(bucket.waiting).toBe(1);
    await clock.advance(1000);
    expect(second.done).toBe(true);
    expect(first.done).toBe(false);
  });

  it('rejects at once with an already aborted signal and takes no token', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1, clock });
    await expect(bucket.take(AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
    const next = track(bucket.take());
    await flush();
    expect(next.done).toBe(true);
  });

  it('pauseUntil holds back every caller, then restarts at the steady rate instead of a full burst', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 5, clock });
    bucket.pauseUntil(clock.now() + 10_000);
    const takes = Array.from({ length: 3 }, () => track(bucket.take()));
    await clock.advance(9_999);
    expect(takes.some((t) => t.done)).toBe(false);
    await clock.advance(1);
    expect(takes.map((t) => t.done)).toEqual([true, false, false]);
    await clock.advance(1000);
    expect(takes.map((t) => t.done)).toEqual([true, true, false]);
  });

  it('keeps the later of two pauses', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ ratePerSecond: 100, burst: 5, clock });
    bucket.pauseUntil(clock.now() + 5_000);
    bucket.pauseUntil(clock.now() + 1_000);
    expect(bucket.pausedUntil).toBe(clock.now() + 5_000);
    const take = track(bucket.take());
    await clock.advance(4_000);
    expect(take.done).toBe(false);
    await clock.advance(1_000);
    expect(take.done).toBe(true);
  });

  it('refuses a nonsense configuration', () => {
    expect(() => new TokenBucket({ ratePerSecond: 0 })).toThrow(RangeError);
    expect(() => new TokenBucket({ burst: 0 })).toThrow(RangeError);
    expect(() => new TokenBucket({ burst: 1.5 })).toThrow(RangeError);
  });
});
