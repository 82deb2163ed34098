/**
 * Computes the merge patch of the status subresource that takes the current
 * status to the desired one, or null when nothing would change: no write,
 * so GitOps tools watching the CR see no churn.
 */
import { conditionsEqual, READY, setCondition } from './conditions.js';
import type { ConditionStatus, MixpeekSecretStatus } from './types.js';

/** What a successful push records, all taken from the vault's answer and the Secret pushed. */
export interface SyncRecord {
  secretName: string;
  /** As the vault answered; null (after a create) removes the field. */
  updated: boolean | null;
  syncedResourceVersion: string;
  /** RFC 3339. */
  lastSyncTime: string;
}

export interface DesiredStatus {
  generation: number;
  ready: { status: ConditionStatus; reason: string; message: string };
  /** Present only when a push happened. */
  sync?: SyncRecord;
  /** Overrides status.secretName without a push, e.g. after an old name was cleaned up. */
  secretName?: string;
}

/** A JSON merge patch body for /status: null removes a field. */
export interface StatusPatch {
  status: {
    secretName?: string | null;
    updated?: boolean | null;
    syncedResourceVersion?: string;
    observedGeneration?: number;
    lastSyncTime?: string;
    conditions?: MixpeekSecretStatus['conditions'];
  };
}

/**
 * The patch taking `current` to `desired`, or null if it would change
 * nothing. `now` (RFC 3339) is used only if the Ready status transitions.
 */
export function statusPatch(current: MixpeekSecretStatus | undefined, desired: DesiredStatus, now: string): StatusPatch | null {
  const cur = current ?? {};
  const patch: StatusPatch['status'] = {};
  let changed = false;

  const conditions = setCondition(
    cur.conditions,
    { type: READY, ...desired.ready, observedGeneration: desired.generation },
    now,
  );
  if (!conditionsEqual(cur.conditions, conditions)) {
    patch.conditions = conditions;
    changed = true;
  }
  if (cur.observedGeneration !== desired.generation) {
    patch.observedGeneration = desired.generation;
    changed = true;
  }

  const secretName = desired.sync?.secretName ?? desired.secretName;
  if (secretName !== undefined && cur.secretName !== secretName) {
    patch.secretName = secretName;
    changed = true;
  }
  const sync = desired.sync;
  if (sync) {
    // null and absent mean the same: the vault said nothing about `updated`.
    if ((cur.updated ?? null) !== sync.updated) {
      patch.updated = sync.updated;
      changed = true;
    }
    if (cur.syncedResourceVersion !== sync.syncedResourceVersion) {
      patch.syncedResourceVersion = sync.syncedResourceVersion;
      changed = true;
    }
    if (cur.lastSyncTime !== sync.lastSyncTime) {
      patch.lastSyncTime = sync.lastSyncTime;
      changed = true;
    }
  }
  return changed ? { status: patch } : null;
}

/** Applies a merge patch to a status, as the API server would (for tests and caches). */
export function applyStatusPatch(current: MixpeekSecretStatus | undefined, patch: StatusPatch): MixpeekSecretStatus {
  const next: Record<string, unknown> = { ...(current ?? {}) };
  for (const [k, v] of Object.entries(patch.status)) {
    if (v === null) delete next[k];
    else if (v !== undefined) next[k] = v;
  }
  return next;
}
