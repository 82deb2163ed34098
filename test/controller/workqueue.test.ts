import { afterEach, describe, expect, it, vi } from 'vitest';
import { ItemBackoff } from '../../src/controller/backoff.js';
import { requeue, runWorkers, WorkQueue } from '../../src/controller/workqueue.js';

/** Takes every key currently available without waiting. */
async function takeAll(q: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (q.length > 0) {
    const k = await q.get();
    if (k === undefined) break;
    keys.push(k);
  }
  return keys;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('WorkQueue transitions', () => {
  it('add → queued; get → processing; done → gone', async () => {
    const q = new WorkQueue();
    q.add('a');
    expect([q.length, q.inFlight]).toEqual([1, 0]);
    expect(await q.get()).toBe('a');
    expect([q.length, q.inFlight]).toEqual([0, 1]);
    q.done('a');
    expect([q.length, q.inFlight]).toEqual([0, 0]);
  });

  it('adding a queued key again does nothing (dedup)', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length).toBe(2);
    expect(await takeAll(q)).toEqual(['a', 'b']);
  });

  it('a key added while processing is not handed out, and is queued once when done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = await q.get();
    q.add('a');
    q.add('a');
    expect(q.length).toBe(0); // never two workers on one key
    q.done(k ?? '');
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    expect(q.length).toBe(0);
  });

  it('a key not re-added while processing is not queued again by done', async () => {
    const q = new WorkQueue();
    q.add('a');
    await q.get();
    q.done('a');
    q.done('a'); // a second done is harmless
    expect(q.length).toBe(0);
  });

  it('keys are handed out in FIFO order within a priority', async () => {
    const q = new WorkQueue();
    for (const k of ['c', 'a', 'b']) q.add(k);
    expect(await takeAll(q)).toEqual(['c', 'a', 'b']);
  });

  it("'change' work is always dequeued before 'resync' work", async () => {
    const q = new WorkQueue();
    q.add('r1', 'resync');
    q.add('r2', 'resync');
    q.add('c1', 'change');
    q.add('r3', 'resync');
    q.add('c2');
    expect(await takeAll(q)).toEqual(['c1', 'c2', 'r1', 'r2', 'r3']);
  });

  it("re-adding a queued resync key as 'change' raises it; re-adding as resync never lowers", async () => {
    const q = new WorkQueue();
    q.add('r1', 'resync');
    q.add('r2', 'resync');
    q.add('c1', 'change');
    q.add('r2', 'change');
    q.add('c1', 'resync');
    expect(q.length).toBe(3);
    expect(await takeAll(q)).toEqual(['c1', 'r2', 'r1']);
  });

  it('a key dirtied as resync while processing, then as change, is requeued as change', async () => {
    const q = new WorkQueue();
    q.add('a', 'resync');
    await q.get();
    q.add('a', 'resync');
    q.add('a', 'change');
    q.add('b', 'resync');
    q.done('a');
    expect(await takeAll(q)).toEqual(['a', 'b']);
  });

  it('get waits for a key', async () => {
    const q = new WorkQueue();
    const pending = q.get();
    let got: string | undefined;
    void pending.then((k) => (got = k));
    await Promise.resolve();
    expect(got).toBeUndefined();
    q.add('late');
    expect(await pending).toBe('late');
  });

  it('two waiting getters never receive the same key', async () => {
    const q = new WorkQueue();
    const g1 = q.get();
    const g2 = q.get();
    q.add('a');
    q.add('a');
    q.add('b');
    expect((await Promise.all([g1, g2])).sort()).toEqual(['a', 'b']);
  });

  it('an aborted get resolves undefined and does not swallow a later key', async () => {
    const q = new WorkQueue();
    const ac = new AbortController();
    const pending = q.get(ac.signal);
    ac.abort();
    expect(await pending).toBeUndefined();
    q.add('a');
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
  });

  it('shutDown stops intake, drops waiting keys, wakes getters with undefined, and done does not requeue', async () => {
    const q = new WorkQueue();
    q.add('busy');
    await q.get();
    q.add('queued');
    q.add('busy');
    q.addAfter('later', 60_000);
    expect(q.pendingDelayed).toBe(1);
    q.shutDown();
    expect(q.isShuttingDown).toBe(true);
    expect([q.length, q.pendingDelayed]).toEqual([0, 0]);
    q.add('new');
    expect(q.length).toBe(0);
    expect(await q.get()).toBeUndefined();
    q.done('busy');
    expect(q.length).toBe(0);
  });

  it('a getter waiting at shutdown resolves undefined', async () => {
    const q = new WorkQueue();
    const pending = q.get();
    q.shutDown();
    expect(await pending).toBeUndefined();
  });

  it('drain resolves only once in-flight keys are done', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    await q.get();
    await q.get();
    let drained = false;
    const d = q.drain().then(() => (drained = true));
    q.done('a');
    await Promise.resolve();
    await Promise.resolve();
    expect(drained).toBe(false);
    q.done('b');
    await d;
    expect(drained).toBe(true);
    await q.drain(); // idle: resolves at once
  });
});

describe('WorkQueue delays', () => {
  it('addAfter queues the key when due', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue();
    q.addAfter('a', 1000);
    expect([q.length, q.pendingDelayed]).toEqual([0, 1]);
    vi.advanceTimersByTime(999);
    expect(q.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect([q.length, q.pendingDelayed]).toEqual([1, 0]);
    expect(await q.get()).toBe('a');
  });

  it('of two delays for one key the sooner stands, and it fires once', () => {
    vi.useFakeTimers();
    const q = new WorkQueue();
    q.addAfter('a', 5000);
    q.addAfter('a', 1000);
    q.addAfter('a', 3000);
    expect(q.pendingDelayed).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(q.length).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(q.length).toBe(1);
  });

  it('a delayed key keeps the higher priority it was scheduled with', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue();
    q.addAfter('a', 1000, 'resync');
    q.addAfter('a', 2000, 'change');
    q.add('r', 'resync');
    vi.advanceTimersByTime(1000);
    expect(await takeAll(q)).toEqual(['a', 'r']);
  });

  it('cancel (the object is gone) drops the scheduled retry and the failure streak; other keys keep theirs', () => {
    vi.useFakeTimers();
    const q = new WorkQueue();
    q.addRateLimited('gone');
    q.addRateLimited('gone');
    q.addAfter('other', 1000);
    q.cancel('gone');
    expect(q.pendingDelayed).toBe(1);
    expect(q.numRequeues('gone')).toBe(0);
    vi.advanceTimersByTime(10 * 60_000);
    expect(q.length).toBe(1); // only 'other' came due
  });

  it('addAfter with 0 adds at once', () => {
    const q = new WorkQueue();
    q.addAfter('a', 0);
    expect(q.length).toBe(1);
  });

  it('addRateLimited backs off per item, exponentially from 1 s to 5 min; forget resets', () => {
    vi.useFakeTimers();
    const q = new WorkQueue();
    const delays = Array.from({ length: 10 }, () => q.addRateLimited('a'));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000]);
    expect(q.numRequeues('a')).toBe(10);
    expect(q.addRateLimited('b')).toBe(1000); // per item
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    expect(q.addRateLimited('a')).toBe(1000);
  });

  it('the backoff base and cap are configurable', () => {
    const q = new WorkQueue({ backoff: { baseMs: 50, capMs: 120 } });
    expect([q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a')]).toEqual([50, 100, 120]);
    q.shutDown();
    expect(() => new ItemBackoff({ baseMs: 10, capMs: 5 })).toThrow(RangeError);
    expect(() => new ItemBackoff({ baseMs: 0 })).toThrow(RangeError);
  });

  it('backoff never overflows past the cap', () => {
    const b = new ItemBackoff();
    let last = 0;
    for (let i = 0; i < 2000; i++) last = b.next('x');
    expect(last).toBe(300_000);
  });
});

describe('requeue (from a reconcile result)', () => {
  it('a failure backs off; a Retry-After is a floor, never shorter than the backoff; a success forgets and schedules a refresh as resync', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue();
    expect(requeue(q, 'a', { error: new Error('x') })).toBe(1000);
    expect(requeue(q, 'a', { error: new Error('x') })).toBe(2000);
    expect(requeue(q, 'a', { error: new Error('x'), requeueAfterMs: 7000 })).toBe(7000);
    // The 4th failure backs off 8 s: a Retry-After of 1 s does not shorten it.
    expect(requeue(q, 'a', { error: new Error('x'), requeueAfterMs: 1000 })).toBe(8000);
    expect(q.numRequeues('a')).toBe(4);
    expect(requeue(q, 'a', {})).toBeUndefined();
    expect(q.numRequeues('a')).toBe(0);
    expect(requeue(q, 'b', { requeueAfterMs: 60_000 })).toBe(60_000);
    q.add('c', 'resync');
    vi.advanceTimersByTime(60_000);
    // 'a' came due (change) before b (resync refresh) and c.
    expect(await takeAll(q)).toEqual(['a', 'c', 'b']);
  });
});

describe('runWorkers', () => {
  it('bounds concurrency and never runs one key twice at a time', async () => {
    const q = new WorkQueue();
    const ac = new AbortController();
    let running = 0;
    let maxRunning = 0;
    const active = new Set<string>();
    const seen: string[] = [];
    let overlapped = false;
    const handler = async (key: string): Promise<void> => {
      if (active.has(key)) overlapped = true;
      active.add(key);
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 5));
      if (seen.filter((k) => k === key).length === 0) q.add(key); // an event during the reconcile
      seen.push(key);
      running -= 1;
      active.delete(key);
    };
    for (let i = 0; i < 12; i++) q.add(`k${i}`);
    const run = runWorkers(q, 3, handler, ac.signal);
    await vi.waitFor(() => expect(seen).toHaveLength(24), { timeout: 10_000 });
    ac.abort();
    await run;
    expect(maxRunning).toBe(3);
    expect(overlapped).toBe(false);
    for (let i = 0; i < 12; i++) expect(seen.filter((k) => k === `k${i}`)).toHaveLength(2);
  });

  it('a throwing handler reports the error and the key comes back with backoff', async () => {
    const q = new WorkQueue({ backoff: { baseMs: 10, capMs: 10 } });
    const ac = new AbortController();
    const errors: string[] = [];
    let calls = 0;
    const run = runWorkers(
      q,
      1,
      (): Promise<void> => {
        calls += 1;
        return calls === 1 ? Promise.reject(new Error('bad')) : Promise.resolve();
      },
      ac.signal,
      { onError: (key) => errors.push(key) },
    );
    q.add('a');
    await vi.waitFor(() => expect(calls).toBe(2), { timeout: 10_000 });
    expect(errors).toEqual(['a']);
    ac.abort();
    await run;
  });

  it('abort lets in-flight handlers finish before resolving; drain waits for them too', async () => {
    const q = new WorkQueue();
    const ac = new AbortController();
    const gate = deferred();
    let finished = false;
    const run = runWorkers(
      q,
      2,
      async () => {
        await gate.promise;
        finished = true;
      },
      ac.signal,
    );
    q.add('a');
    await vi.waitFor(() => expect(q.inFlight).toBe(1));
    ac.abort();
    const drained = q.drain();
    let resolved = false;
    void run.then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(resolved).toBe(false);
    gate.resolve();
    await run;
    await drained;
    expect(finished).toBe(true);
    expect(q.inFlight).toBe(0);
  });

  it('rejects a concurrency below 1', async () => {
    await expect(runWorkers(new WorkQueue(), 0, () => Promise.resolve(), new AbortController().signal)).rejects.toThrow(RangeError);
  });
});
