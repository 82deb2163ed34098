/**
 * Waits `ms`, or less when `signal` aborts: for loops (watch restarts, lease
 * renewals) that check the signal themselves right after, so an abort is a
 * normal way out rather than an exception.
 */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
