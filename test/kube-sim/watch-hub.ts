/**
 * Watch fan-out and the bounded history that lets a watch resume from a resourceVersion.
 * A watch from a resourceVersion older than the retained window is "too old" (410).
 */
import type { StoreEvent, WatchEventType } from './store.js';
import type { KObject } from './types.js';

export interface WatchSubscriber {
  key: string;
  namespace: string | undefined;
  matches: (obj: KObject) => boolean;
  deliver: (type: WatchEventType, event: StoreEvent) => void;
  /** End the stream as the server does when a watch times out. */
  closeCleanly: () => void;
  /** Drop the TCP connection without ending the chunked body. */
  destroySocket: () => void;
}

export class WatchHub {
  private readonly ring: (StoreEvent | undefined)[];
  private head = 0;
  private size = 0;
  /** A watch from resourceVersion r can be served iff r >= floor. */
  private floor = 0;
  private readonly subscribers = new Map<string, Set<WatchSubscriber>>();

  constructor(readonly capacity: number) {
    this.ring = new Array<StoreEvent | undefined>(capacity);
  }

  get oldestServable(): number {
    return this.floor;
  }

  publish(event: StoreEvent): void {
    if (this.capacity > 0) {
      const slot = (this.head + this.size) % this.capacity;
      if (this.size === this.capacity) {
        const evicted = this.ring[this.head];
        if (evicted) this.floor = evicted.rv;
        this.head = (this.head + 1) % this.capacity;
      } else this.size += 1;
      this.ring[slot] = event;
    } else this.floor = event.rv;
    const subs = this.subscribers.get(event.key);
    if (!subs) return;
    for (const s of subs) {
      if (s.namespace !== undefined && event.object.metadata.namespace !== s.namespace) continue;
      const now = event.type !== 'DELETED' && s.matches(event.object);
      const before = event.previous !== undefined && s.matches(event.previous);
      if (event.type === 'DELETED') {
        if (before) s.deliver('DELETED', event);
      } else if (now) s.deliver(before ? 'MODIFIED' : 'ADDED', event);
      else if (before) s.deliver('DELETED', event);
    }
  }

  /** Forget the history: every watch from a resourceVersion below `current` becomes too old. */
  compact(current: number): void {
    this.ring.fill(undefined);
    this.head = 0;
    this.size = 0;
    this.floor = current;
  }

  /** Events after `rv` for one resource type, or undefined when `rv` is older than the window. */
  since(key: string, rv: number): StoreEvent[] | undefined {
    if (rv < this.floor) return undefined;
    const out: StoreEvent[] = [];
    for (let i = 0; i < this.size; i++) {
      const e = this.ring[(this.head + i) % this.capacity];
      if (e && e.rv > rv && e.key === key) out.push(e);
    }
    return out;
  }

  subscribe(s: WatchSubscriber): () => void {
    let set = this.subscribers.get(s.key);
    if (!set) {
      set = new Set();
      this.subscribers.set(s.key, set);
    }
    set.add(s);
    return () => set.delete(s);
  }

  /** Ends every watch of one resource type (its CRD is gone), as the apiserver does. */
  closeKey(key: string): void {
    for (const s of [...(this.subscribers.get(key) ?? [])]) s.closeCleanly();
  }

  all(): WatchSubscriber[] {
    return [...this.subscribers.values()].flatMap((s) => [...s]);
  }

  count(): number {
    let n = 0;
    for (const s of this.subscribers.values()) n += s.size;
    return n;
  }
}
