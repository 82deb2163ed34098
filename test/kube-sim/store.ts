/**
 * The object store: one global, monotonic resourceVersion for every write, objects keyed per resource type.
 * Stored objects are never mutated in place: a write replaces the object, so readers (lists being
 * streamed, watch events in history) can hold references without copying.
 */
import type { KObject } from './types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  /** Resource key (`secrets`, `mixpeeksecrets.mixpeek.com`). */
  key: string;
  rv: number;
  object: KObject;
  /** The object before this write, so selector watches can turn "stopped matching" into DELETED. */
  previous: KObject | undefined;
  /** Serialized forms, filled lazily by the watch fan-out so each event is encoded once. */
  encoded: Map<string, string>;
}

export type StoreListener = (event: StoreEvent) => void;

function itemKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** Objects of one type, kept ordered by namespace/name (binary search) so lists and continue tokens need no sort. */
class Table {
  readonly objects = new Map<string, KObject>();
  private readonly keys: string[] = [];
  private readonly sorted: KObject[] = [];

  private position(k: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.keys[mid] as string) < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  set(k: string, obj: KObject): void {
    const i = this.position(k);
    if (this.keys[i] === k) this.sorted[i] = obj;
    else {
      this.keys.splice(i, 0, k);
      this.sorted.splice(i, 0, obj);
    }
    this.objects.set(k, obj);
  }

  delete(k: string): void {
    const i = this.position(k);
    if (this.keys[i] === k) {
      this.keys.splice(i, 1);
      this.sorted.splice(i, 1);
    }
    this.objects.delete(k);
  }

  /** A copy of the objects in namespace/name order, optionally one namespace (a contiguous range). */
  ordered(namespace?: string): KObject[] {
    if (namespace === undefined) return this.sorted.slice();
    const from = this.position(`${namespace}/`);
    const to = this.position(`${namespace}0`); // '0' sorts right after '/'
    return this.sorted.slice(from, to);
  }
}

export class ObjectStore {
  private revision = 0;
  private readonly tables = new Map<string, Table>();
  private readonly listeners: StoreListener[] = [];

  get resourceVersion(): number {
    return this.revision;
  }

  onEvent(listener: StoreListener): void {
    this.listeners.push(listener);
  }

  private table(key: string): Table {
    let t = this.tables.get(key);
    if (!t) {
      t = new Table();
      this.tables.set(key, t);
    }
    return t;
  }

  get(key: string, namespace: string | undefined, name: string): KObject | undefined {
    return this.tables.get(key)?.objects.get(itemKey(namespace, name));
  }

  /** All objects of a type (optionally one namespace), ordered by namespace/name; the array is the caller's. */
  list(key: string, namespace?: string): KObject[] {
    return this.tables.get(key)?.ordered(namespace) ?? [];
  }

  count(key: string): number {
    return this.tables.get(key)?.objects.size ?? 0;
  }

  /** Stores `obj` (a fresh object the caller owns) with the next resourceVersion and emits ADDED/MODIFIED. */
  put(key: string, obj: KObject): KObject {
    const name = obj.metadata.name ?? '';
    const k = itemKey(obj.metadata.namespace, name);
    const t = this.table(key);
    const previous = t.objects.get(k);
    this.revision += 1;
    obj.metadata.resourceVersion = String(this.revision);
    t.set(k, obj);
    this.emit({ type: previous ? 'MODIFIED' : 'ADDED', key, rv: this.revision, object: obj, previous, encoded: new Map() });
    return obj;
  }

  /** Removes the object; the DELETED event carries it with a new resourceVersion, as the apiserver's does. */
  remove(key: string, namespace: string | undefined, name: string): KObject | undefined {
    const t = this.tables.get(key);
    const k = itemKey(namespace, name);
    const previous = t?.objects.get(k);
    if (!t || !previous) return undefined;
    this.revision += 1;
    const gone: KObject = { ...previous, metadata: { ...previous.metadata, resourceVersion: String(this.revision) } };
    t.delete(k);
    this.emit({ type: 'DELETED', key, rv: this.revision, object: gone, previous, encoded: new Map() });
    return gone;
  }

  private emit(event: StoreEvent): void {
    for (const l of this.listeners) l(event);
  }
}
