/**
 * What the reconciler needs from the world, as interfaces. The lead wires
 * them to Kubernetes caches and clients and to the vault client; unit tests
 * pass plain in-memory objects. None of these carries a secret value except
 * VaultPort's `value` argument and CoreSecret's data.
 */
import { VAULT_ERROR_KINDS, type VaultErrorKind } from '../mixpeek/errors.js';
import type { Logger } from '../observability/log.js';
import type { StatusPatch } from './status.js';
import type { CoreSecret, StoredMixpeekSecret } from './types.js';

type MaybePromise<T> = T | Promise<T>;

/** The vault client's error vocabulary; only the type and the list of kinds, not the client. */
const VAULT_ERROR_KIND_SET: ReadonlySet<string> = new Set<string>(VAULT_ERROR_KINDS);
export type { VaultErrorKind };

/** The shape of the vault client's VaultError that the reconciler switches on. */
export interface VaultFailure {
  kind: VaultErrorKind;
  retryAfterMs?: number;
  status?: number;
}

export function isVaultFailure(e: unknown): e is VaultFailure {
  if (typeof e !== 'object' || e === null) return false;
  const kind = (e as { kind?: unknown }).kind;
  return typeof kind === 'string' && VAULT_ERROR_KIND_SET.has(kind);
}

/** The vault's answer, typed: `secret_name`, `created`, `updated`, `deleted`. */
export interface VaultAnswer {
  secretName: string;
  created: boolean | null;
  updated: boolean | null;
  deleted: boolean | null;
}

export interface VaultCallOptions {
  signal?: AbortSignal;
  /** A connectionRef's key; absent means the operator's own key. */
  apiKey?: string;
}

/** Throws a VaultFailure-shaped error on failure. */
export interface VaultPort {
  updateSecret(name: string, value: string, options: VaultCallOptions): Promise<VaultAnswer>;
  createSecret(name: string, value: string, options: VaultCallOptions): Promise<VaultAnswer>;
  deleteSecret(name: string, options: VaultCallOptions): Promise<VaultAnswer>;
}

/** Reads MixpeekSecrets from the informer cache. */
export interface CrReader {
  get(namespace: string, name: string): MaybePromise<StoredMixpeekSecret | undefined>;
}

export interface SecretMeta {
  resourceVersion?: string;
}

export interface SecretReader {
  /** From the metadata-only cache: decides "already synced" without reading the payload. */
  meta(namespace: string, name: string): MaybePromise<SecretMeta | undefined>;
  /** The full Secret from the API server, read only when a push is needed; undefined on 404. */
  read(namespace: string, name: string, signal: AbortSignal): Promise<CoreSecret | undefined>;
}

/** The CR an API write or event is about. */
export interface CrRef {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion?: string;
}

/** 'Gone': the CR was deleted, or replaced by a new object under the same name; nothing was written. */
export type StatusWriteResult = 'Written' | 'Gone';

export interface StatusWriter {
  /** A JSON merge patch (application/merge-patch+json) of the status subresource. */
  patchStatus(ref: CrRef, patch: StatusPatch, signal: AbortSignal): Promise<StatusWriteResult>;
}

export interface FinalizerWriter {
  /** Idempotent. */
  add(ref: CrRef, finalizer: string, signal: AbortSignal): Promise<void>;
  /** Idempotent; a CR already gone counts as done. */
  remove(ref: CrRef, finalizer: string, signal: AbortSignal): Promise<void>;
}

export type EventType = 'Normal' | 'Warning';

export interface ControllerEvent {
  type: EventType;
  reason: string;
  /** Never holds a value. */
  message: string;
}

export interface EventSink {
  /** Best effort: a failure to record an event never fails a reconcile. */
  emit(ref: CrRef, event: ControllerEvent): MaybePromise<void>;
}

export interface OwnershipReader {
  ownerOf(vaultSecretName: string, connectionId: string): string | undefined;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface ReconcileDeps {
  crs: CrReader;
  secrets: SecretReader;
  vault: VaultPort;
  status: StatusWriter;
  finalizers: FinalizerWriter;
  events: EventSink;
  ownership: OwnershipReader;
  clock: Clock;
  logger?: Logger;
  /** Connection identity for ownership; defaults to ownership.ts connectionIdOf. */
  connectionIdOf?: (namespace: string, connectionRefName: string | undefined) => string;
}
