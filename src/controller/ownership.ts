/**
 * Who owns a vault secret when several CRs (in any namespaces) target the
 * same vaultSecretName with the same credentials: the oldest claim, by
 * creationTimestamp and then uid, so every replica and every restart agrees
 * without any state of its own. The others report Conflict and never call
 * the vault.
 *
 * Credentials are identified by an opaque `connectionId` the caller computes
 * (connectionIdOf by default). It must never be reversible to a key.
 */
import { parseSpec } from './spec.js';
import type { StoredMixpeekSecret } from './types.js';
import { objectKey } from './types.js';

export interface Claim {
  /** The CR's "namespace/name". */
  key: string;
  vaultSecretName: string;
  connectionId: string;
  /** RFC 3339; claims without one sort last. */
  creationTimestamp?: string;
  uid: string;
}

/** The identity of the operator's own API key. */
export const OPERATOR_CONNECTION = 'operator';

/**
 * The default connection identity: the operator's key, or the connection
 * Secret's "namespace/name". Two connectionRefs in different namespaces that
 * hold the same key are then different identities; a caller that can
 * fingerprint keys (e.g. an HMAC with a process-local secret) may pass that
 * instead.
 */
export function connectionIdOf(namespace: string, connectionRefName: string | undefined): string {
  return connectionRefName === undefined ? OPERATOR_CONNECTION : `secret:${objectKey(namespace, connectionRefName)}`;
}

/**
 * A stored CR's claim, or undefined when its spec is invalid: such a CR never
 * calls the vault, so it must not keep a valid CR out as Conflict.
 */
export function claimOf(cr: StoredMixpeekSecret): Claim | undefined {
  const parsed = parseSpec(cr.spec);
  if (!parsed.ok) return undefined;
  const { spec } = parsed.value;
  const claim: Claim = {
    key: objectKey(cr.metadata.namespace, cr.metadata.name),
    vaultSecretName: spec.vaultSecretName,
    connectionId: connectionIdOf(cr.metadata.namespace, spec.connectionRef?.name),
    uid: cr.metadata.uid,
  };
  if (cr.metadata.creationTimestamp !== undefined) claim.creationTimestamp = cr.metadata.creationTimestamp;
  return claim;
}

function timeOf(c: Claim): number {
  const t = c.creationTimestamp === undefined ? NaN : Date.parse(c.creationTimestamp);
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/** Negative when `a` is older (wins). */
export function compareClaims(a: Claim, b: Claim): number {
  const ta = timeOf(a);
  const tb = timeOf(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.uid !== b.uid) return a.uid < b.uid ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function groupOf(vaultSecretName: string, connectionId: string): string {
  return JSON.stringify([connectionId, vaultSecretName]);
}

export class Ownership {
  private readonly groups = new Map<string, Map<string, Claim>>();
  private readonly owners = new Map<string, string>();
  private readonly claims = new Map<string, Claim>();

  /**
   * Records (or moves) a claim. Returns the other CR keys to re-enqueue because
   * an owner changed in a group they belong to.
   */
  upsert(claim: Claim): string[] {
    const previous = this.claims.get(claim.key);
    const touched = new Set<string>();
    if (previous) {
      this.leave(previous);
      touched.add(groupOf(previous.vaultSecretName, previous.connectionId));
    }
    this.claims.set(claim.key, { ...claim });
    const g = groupOf(claim.vaultSecretName, claim.connectionId);
    let members = this.groups.get(g);
    if (!members) {
      members = new Map();
      this.groups.set(g, members);
    }
    members.set(claim.key, { ...claim });
    touched.add(g);
    return this.recompute(touched, claim.key);
  }

  /** Drops `key`'s claim; returns the CR keys to re-enqueue (the next owner takes over). */
  remove(key: string): string[] {
    const previous = this.claims.get(key);
    if (!previous) return [];
    this.claims.delete(key);
    this.leave(previous);
    return this.recompute(new Set([groupOf(previous.vaultSecretName, previous.connectionId)]), key);
  }

  /** The owning CR key, or undefined when nobody claims that name with those credentials. */
  ownerOf(vaultSecretName: string, connectionId: string): string | undefined {
    return this.owners.get(groupOf(vaultSecretName, connectionId));
  }

  private leave(claim: Claim): void {
    const g = groupOf(claim.vaultSecretName, claim.connectionId);
    const members = this.groups.get(g);
    if (!members) return;
    members.delete(claim.key);
    if (members.size === 0) this.groups.delete(g);
  }

  private recompute(groups: Set<string>, except: string): string[] {
    const requeue = new Set<string>();
    for (const g of groups) {
      const before = this.owners.get(g);
      const members = this.groups.get(g);
      let after: Claim | undefined;
      for (const c of members?.values() ?? []) if (!after || compareClaims(c, after) < 0) after = c;
      if (after) this.owners.set(g, after.key);
      else this.owners.delete(g);
      if (before !== after?.key) for (const k of members?.keys() ?? []) requeue.add(k);
    }
    requeue.delete(except);
    return [...requeue];
  }
}
