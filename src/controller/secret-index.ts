/**
 * Secret "namespace/name" → the CR keys that reference it (spec.secretRef and
 * spec.connectionRef, always in the CR's own namespace). A Secret event looks
 * up exactly the CRs to enqueue instead of scanning every CR.
 */
import { objectKey, type StoredMixpeekSecret } from './types.js';

function nameAt(v: unknown, field: string): string | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const name = (v as Record<string, unknown>)[field];
  return typeof name === 'string' && name.length > 0 ? name : undefined;
}

/**
 * The Secret keys a stored CR references. Reads the unchecked spec leniently:
 * a CR whose spec is otherwise invalid still reacts to its Secret appearing.
 */
export function referencedSecrets(cr: StoredMixpeekSecret): string[] {
  const ns = cr.metadata.namespace;
  const spec = cr.spec;
  const names = new Set<string>();
  const secretRef = typeof spec === 'object' && spec !== null ? (spec as Record<string, unknown>).secretRef : undefined;
  const connectionRef = typeof spec === 'object' && spec !== null ? (spec as Record<string, unknown>).connectionRef : undefined;
  const s = nameAt(secretRef, 'name');
  if (s !== undefined) names.add(objectKey(ns, s));
  const c = nameAt(connectionRef, 'name');
  if (c !== undefined) names.add(objectKey(ns, c));
  return [...names];
}

const EMPTY: ReadonlySet<string> = new Set();

export class SecretIndex {
  private readonly bySecret = new Map<string, Set<string>>();
  private readonly byCr = new Map<string, readonly string[]>();

  /** Records what CR `crKey` references now (on add and on update). */
  set(crKey: string, secretKeys: readonly string[]): void {
    this.remove(crKey);
    const unique = [...new Set(secretKeys)];
    if (unique.length === 0) return;
    this.byCr.set(crKey, unique);
    for (const s of unique) {
      let crs = this.bySecret.get(s);
      if (!crs) {
        crs = new Set();
        this.bySecret.set(s, crs);
      }
      crs.add(crKey);
    }
  }

  /** Indexes a stored CR by its key and the Secrets it references. */
  upsert(cr: StoredMixpeekSecret): void {
    this.set(objectKey(cr.metadata.namespace, cr.metadata.name), referencedSecrets(cr));
  }

  remove(crKey: string): void {
    const previous = this.byCr.get(crKey);
    if (!previous) return;
    this.byCr.delete(crKey);
    for (const s of previous) {
      const crs = this.bySecret.get(s);
      if (!crs) continue;
      crs.delete(crKey);
      if (crs.size === 0) this.bySecret.delete(s);
    }
  }

  /** CR keys referencing Secret `secretKey` ("namespace/name"). */
  lookup(secretKey: string): ReadonlySet<string> {
    return this.bySecret.get(secretKey) ?? EMPTY;
  }

  /** Number of Secrets referenced by at least one CR. */
  get size(): number {
    return this.bySecret.size;
  }
}
