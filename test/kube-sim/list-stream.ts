/**
 * Writes a large JSON list without holding the event loop: items are serialized in chunks with a
 * setImmediate yield between them, and the socket's backpressure is respected.
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';

const CHUNK_ITEMS = 500;

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** `envelope` is the list object without items; `items` are already in wire form. */
export async function streamList(res: ServerResponse, envelope: Record<string, unknown>, items: readonly unknown[]): Promise<void> {
  const head = JSON.stringify({ ...envelope, items: [] });
  // `{"kind":...,"items":[]}` → write up to `[`, the items, then `]}`.
  const open = head.slice(0, head.length - 2);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.write(open);
  for (let i = 0; i < items.length; i += CHUNK_ITEMS) {
    if (res.destroyed) return;
    const parts: string[] = [];
    for (let j = i; j < Math.min(i + CHUNK_ITEMS, items.length); j++) parts.push(JSON.stringify(items[j]));
    const ok = res.write((i === 0 ? '' : ',') + parts.join(','));
    if (!ok) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    else await yieldToLoop();
  }
  res.end(']}');
}
