/**
 * The MixpeekSecret custom resource as TypeScript, matching
 * crds/mixpeeksecrets.mixpeek.com.yaml. `StoredMixpeekSecret` is what the API
 * server hands back (spec unchecked: it may predate a schema change);
 * `MixpeekSecretSpec` is the spec after spec.ts has validated it.
 */

export const GROUP = 'mixpeek.com';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'MixpeekSecret';
export const PLURAL = 'mixpeeksecrets';
/** Held only while deletionPolicy is Delete, so deleting the CR can delete the vault secret first. */
export const FINALIZER = 'mixpeek.com/vault-secret';

export type DeletionPolicy = 'Retain' | 'Delete';

export interface SecretKeyRef {
  name: string;
  key: string;
}

export interface ConnectionRef {
  name: string;
}

export interface MixpeekSecretSpec {
  secretRef: SecretKeyRef;
  vaultSecretName: string;
  createIfMissing: boolean;
  deletionPolicy: DeletionPolicy;
  /** Go duration string as stored, e.g. "0s", "1h30m". */
  refreshInterval: string;
  connectionRef?: ConnectionRef;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
  /** RFC 3339, e.g. "2026-11-26T10:00:00Z". */
  lastTransitionTime: string;
}

export interface MixpeekSecretStatus {
  secretName?: string;
  /** As the vault answered; the vault answers null after a create, stored as absent. */
  updated?: boolean | null;
  syncedResourceVersion?: string;
  observedGeneration?: number;
  lastSyncTime?: string;
  conditions?: Condition[];
}

/** The metadata fields the controller reads, as JSON on the wire (timestamps are strings). */
export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
}

export interface StoredMixpeekSecret {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  /** Unchecked: run it through parseSpec before use. */
  spec?: unknown;
  status?: MixpeekSecretStatus;
}

export interface MixpeekSecret extends StoredMixpeekSecret {
  spec: MixpeekSecretSpec;
}

/** A core/v1 Secret as JSON: `data` values are base64. */
export interface CoreSecret {
  metadata: { name: string; namespace: string; resourceVersion?: string; uid?: string };
  type?: string;
  data?: Record<string, string>;
}

/** "namespace/name", the key everything in the controller is indexed by. */
export function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  if (slash < 0) return { namespace: '', name: key };
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
