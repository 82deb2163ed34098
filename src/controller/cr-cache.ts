/**
 * MixpeekSecrets as the reconciler reads them: the watch cache, corrected by
 * this process's own writes until the watch catches up.
 *
 * Without the correction, a reconcile that runs again before the watch has
 * delivered our status patch sees the old status and pushes the same value a
 * second time. An entry records the resourceVersions that are older than our
 * last write; while the cache still shows one of those, our written object is
 * the truth. Any other version (ours arriving, or someone else's later
 * write) retires the entry.
 *
 * A reconcile can write twice (finalizer, then status). The watch may deliver
 * the first write before the second is answered, retiring the first entry;
 * the versions the watch delivered lately are therefore stale for the second
 * write too, or the reconcile woken by the finalizer event would read the CR
 * without the new status and push the same value again.
 */
import { objectKey, type StoredMixpeekSecret } from './types.js';
import type { CrReader } from './ports.js';

/** Versions remembered per CR from the watch; a write is answered well before this many later events arrive. */
const RECENT_VERSIONS = 8;

interface Written {
  object: StoredMixpeekSecret;
  staleVersions: Set<string>;
}

export class CrCache implements CrReader {
  private readonly written = new Map<string, Written>();
  /** The status we last wrote, as the API server serialized it back. */
  private readonly ownStatus = new Map<string, string>();
  /** Versions the watch delivered lately, oldest first. */
  private readonly delivered = new Map<string, string[]>();

  constructor(private readonly cached: (key: string) => StoredMixpeekSecret | undefined) {}

  get(namespace: string, name: string): StoredMixpeekSecret | undefined {
    const key = objectKey(namespace, name);
    const current = this.cached(key);
    const mine = this.written.get(key);
    if (!mine) return current;
    const version = current?.metadata.resourceVersion;
    if (current && version !== undefined && mine.staleVersions.has(version)) return mine.object;
    this.written.delete(key);
    return current;
  }

  /** After a write based on `basedOn` that the API server answered with `object`. */
  recordWrite(basedOn: string | undefined, object: StoredMixpeekSecret): void {
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    if (object.metadata.deletionTimestamp !== undefined && (object.metadata.finalizers ?? []).length === 0) {
      // This answer is the object's last state: the API server removes it now, and its watch DELETE
      // (which forgets the key) may already have come, so an entry made here would never be dropped.
      this.forget(key);
      return;
    }
    this.ownStatus.set(key, JSON.stringify(object.status ?? null));
    const version = object.metadata.resourceVersion;
    const recent = this.delivered.get(key) ?? [];
    if (version !== undefined && recent.includes(version)) {
      // The watch got here first: the cache is at or past this write.
      this.written.delete(key);
      return;
    }
    const previous = this.written.get(key);
    const stale = new Set(previous?.staleVersions);
    const previousVersion = previous?.object.metadata.resourceVersion;
    if (previousVersion !== undefined) stale.add(previousVersion);
    if (basedOn !== undefined) stale.add(basedOn);
    // Watch events arrive in version order and ours has not arrived, so all delivered so far precede it
    // (a relist after 410 could skip versions; a later edit then waits for its next event).
    for (const v of recent) stale.add(v);
    if (version !== undefined) stale.delete(version);
    this.written.set(key, { object, staleVersions: stale });
  }

  /** Whether `object` carries exactly the status this process last wrote (so its watch event is our echo). */
  isOwnStatusWrite(key: string, object: StoredMixpeekSecret): boolean {
    return this.ownStatus.get(key) === JSON.stringify(object.status ?? null);
  }

  /** The watch delivered `key` at `resourceVersion`: drop our copy once the cache has caught up. */
  observed(key: string, resourceVersion: string | undefined): void {
    if (resourceVersion !== undefined) {
      const recent = this.delivered.get(key) ?? [];
      recent.push(resourceVersion);
      if (recent.length > RECENT_VERSIONS) recent.shift();
      this.delivered.set(key, recent);
    }
    const mine = this.written.get(key);
    if (mine && (resourceVersion === undefined || !mine.staleVersions.has(resourceVersion))) this.written.delete(key);
  }

  forget(key: string): void {
    this.written.delete(key);
    this.ownStatus.delete(key);
    this.delivered.delete(key);
  }

  /** Entries waiting for the watch; for tests and metrics. */
  get pending(): number {
    return this.written.size;
  }
}
