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

class Table {
  readonly objects = new Map<string, KObject>();
  private sorted: KObject[] | undefined;

  set(k: string, obj: KObject, isNew: boolean): void {
    this.objects.set(k, obj);
    if (isNew) this.sorted = undefined;
    else if (this.sorted) {
      // Keep the sorted snapshot valid without a re-sort: swap the one entry.
      const i = this.sorted.findIndex((o) => itemKey(o.metadata.namespace, o.metadata.name ?? '') === k);
      if (i >= 0) {
        this.sorted = this.sorted.slice();
        this.sorted[i] = obj;
      } else this.sorted = undefined;
    }
  }

  delete(k: string): void {
    this.objects.delete(k);
    this.sorted = undefined;
  }

  /** Objects ordered by namespace/name, as continue tokens need a stable order. The array is shared: do not mutate. */
  ordered(): KObject[] {
    if (!this.sorted) {
      const keys = [...this.objects.keys()].sort();
      this.sorted = keys.map((k) => this.objects.get(k) as KObject);
    }
    return this.sorted;
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

  /** All objects of a type (optionally one namespace), ordered by namespace/name. */
  list(key: string, namespace?: string): KObject[] {
    const all = this.tables.get(key)?.ordered() ?? [];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
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
    t.set(k, obj, previous === undefined);
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
