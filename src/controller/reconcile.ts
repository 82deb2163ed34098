/**
 * Reconcile one MixpeekSecret, in controller-runtime's manner: given only a
 * key, read current state through the ports, converge, and say when to look
 * again. It never sees the event that woke it, so a missed event, a restart
 * or a dropped watch changes nothing in the outcome.
 *
 * The secret value lives in one local variable between decoding it and the
 * vault call; nothing else (status, events, logs, errors) is built from it.
 */
import { findCondition, READY, rfc3339 } from './conditions.js';
import { connectionIdOf as defaultConnectionIdOf } from './ownership.js';
import { isVaultFailure, type ControllerEvent, type CrRef, type ReconcileDeps, type VaultAnswer, type VaultCallOptions } from './ports.js';
import { parseSpec } from './spec.js';
import { statusPatch, type DesiredStatus } from './status.js';
import { FINALIZER, splitKey, type MixpeekSecretSpec, type StoredMixpeekSecret } from './types.js';

export const CONNECTION_API_KEY = 'apiKey';

/** Ready=False reasons, and the kinds a failed reconcile reports. */
export type FailureReason =
  | 'InvalidSpec'
  | 'SecretNotFound'
  | 'KeyNotFound'
  | 'EmptyValue'
  | 'InvalidValue'
  | 'Conflict'
  | 'ConnectionNotFound'
  | 'ConnectionInvalid'
  | 'Unauthorized'
  | 'Forbidden'
  | 'RateLimited'
  | 'VaultUnavailable'
  | 'VaultRejected'
  | 'VaultSecretNotFound'
  | 'KubernetesApiError';

/** Why a reconcile failed in a way that should be retried with backoff. */
export class ReconcileError extends Error {
  override readonly name = 'ReconcileError';
  constructor(
    readonly kind: FailureReason | 'KubernetesApi' | 'Aborted',
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** What happened, for logs and metrics. */
export type Outcome =
  | 'Gone'
  | 'UpToDate'
  | 'Pushed'
  | 'Deleted'
  | 'Failed'
  | 'Blocked'; // Ready=False waiting for a change (bad input, conflict): no retry needed

export interface ReconcileResult {
  outcome: Outcome;
  /** Look again after this long: a refresh (on success) or Retry-After (with error). */
  requeueAfterMs?: number;
  /** Present when the queue should retry with backoff. */
  error?: ReconcileError;
  /** The Ready reason set, when one was. */
  reason?: string;
}

interface Ctx {
  key: string;
  cr: StoredMixpeekSecret;
  ref: CrRef;
  generation: number;
  deps: ReconcileDeps;
  signal: AbortSignal;
}

class KubernetesApiFailure extends Error {
  constructor(
    readonly what: string,
    /** The HTTP status, when the API server answered. */
    readonly status?: number,
  ) {
    super(what);
  }
}

/** The operation and HTTP code only: the error's own text could hold a response body, and a Secret's holds values. */
function describeKubeFailure(e: KubernetesApiFailure): string {
  return `Kubernetes API call failed: ${e.what} (${e.status === undefined ? 'no HTTP answer' : `HTTP ${e.status}`})`;
}

/** The signal aborted before a write: leadership is lost (another replica may be writing) or shutdown ran out of time. */
class ReconcileAborted extends Error {}

/** The status write found the CR deleted, or replaced by a new object under the same name. */
class CrGone extends Error {}

const STATUS_WRITE = 'patch MixpeekSecret status';

function aborted(): ReconcileResult {
  return { outcome: 'Failed', error: new ReconcileError('Aborted', 'reconcile aborted: leadership lost or shutting down') };
}

/**
 * The error's class and status code only: a port's error could carry a
 * response body, and a Secret's body holds values.
 */
function summarize(e: unknown): string {
  if (typeof e !== 'object' || e === null) return typeof e;
  const o = e as { name?: unknown; code?: unknown; statusCode?: unknown };
  const name = typeof o.name === 'string' ? o.name : 'Error';
  const code = typeof o.code === 'number' || typeof o.code === 'string' ? o.code : typeof o.statusCode === 'number' ? o.statusCode : undefined;
  return code === undefined ? name : `${name} ${code}`;
}

/** Wraps a Kubernetes port call so its failure is told apart from vault failures. */
async function kube<T>(what: string, call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
    throw new KubernetesApiFailure(what, typeof code === 'number' ? code : undefined);
  }
}

export async function reconcile(key: string, deps: ReconcileDeps, signal: AbortSignal = new AbortController().signal): Promise<ReconcileResult> {
  try {
    return await reconcileKey(key, deps, signal);
  } catch (e) {
    if (e instanceof ReconcileAborted) return aborted();
    if (e instanceof CrGone) return { outcome: 'Gone' };
    if (e instanceof KubernetesApiFailure) {
      if (signal.aborted) return aborted();
      // Reading the CR or writing its status failed: there is no status to report it in.
      const message = describeKubeFailure(e);
      deps.logger?.warn({ key }, message);
      return { outcome: 'Failed', error: new ReconcileError('KubernetesApi', message) };
    }
    throw e;
  }
}

async function reconcileKey(key: string, deps: ReconcileDeps, signal: AbortSignal): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const cr = await kube('read MixpeekSecret', () => deps.crs.get(namespace, name));
  if (!cr) return { outcome: 'Gone' };
  const ref: CrRef = { namespace: cr.metadata.namespace, name: cr.metadata.name, uid: cr.metadata.uid };
  if (cr.metadata.resourceVersion !== undefined) ref.resourceVersion = cr.metadata.resourceVersion;
  const ctx: Ctx = { key, cr, ref, generation: cr.metadata.generation ?? 0, deps, signal };
  try {
    return await converge(ctx);
  } catch (e) {
    // Any other API call (a Secret read answered 403, a finalizer edit answered 500) is reported on the CR.
    if (!(e instanceof KubernetesApiFailure) || e.what === STATUS_WRITE || signal.aborted) throw e;
    return failed(ctx, 'KubernetesApiError', describeKubeFailure(e));
  }
}

async function converge(ctx: Ctx): Promise<ReconcileResult> {
  const { key, cr, deps, signal } = ctx;
  const { namespace } = ctx.ref;
  const deleting = cr.metadata.deletionTimestamp !== undefined;
  const hasFinalizer = cr.metadata.finalizers?.includes(FINALIZER) ?? false;

  const parsed = parseSpec(cr.spec);
  if (!parsed.ok) {
    if (deleting) {
      if (hasFinalizer) return releaseWithoutDelete(ctx, 'the spec is invalid, so the vault secret was not deleted');
      return { outcome: 'Deleted' };
    }
    return invalidSpec(ctx, parsed.error.message);
  }
  const { spec, refreshMs } = parsed.value;
  const connectionId = (deps.connectionIdOf ?? defaultConnectionIdOf)(namespace, spec.connectionRef?.name);

  // 1. Being deleted.
  if (deleting) return finalize(ctx, spec, connectionId, hasFinalizer);

  // The finalizer is present only while the policy is Delete.
  if (spec.deletionPolicy === 'Delete' && !hasFinalizer) {
    await editFinalizer(ctx, 'add');
  } else if (spec.deletionPolicy === 'Retain' && hasFinalizer) {
    await editFinalizer(ctx, 'remove');
  }

  // 7. Another CR with the same credentials owns this vault name.
  const owner = deps.ownership.ownerOf(spec.vaultSecretName, connectionId);
  if (owner !== undefined && owner !== key) {
    return blocked(
      ctx,
      'Conflict',
      `vault secret ${JSON.stringify(spec.vaultSecretName)} is managed by MixpeekSecret ${owner}, the oldest one targeting it with the same credentials`,
    );
  }

  // 2 (cheap part). The Secret's metadata, from the cache.
  const secretName = spec.secretRef.name;
  const meta = await kube('read Secret metadata', () => deps.secrets.meta(namespace, secretName));
  if (!meta) return blocked(ctx, 'SecretNotFound', `Secret ${JSON.stringify(secretName)} not found in namespace ${JSON.stringify(namespace)}`);

  // 3. Already synced: no vault call, no status write.
  const now = deps.clock.now();
  const status = cr.status ?? {};
  const ready = findCondition(status.conditions, READY);
  const lastSync = status.lastSyncTime === undefined ? NaN : Date.parse(status.lastSyncTime);
  const nextRefresh = refreshMs > 0 ? lastSync + refreshMs : Number.POSITIVE_INFINITY;
  const refreshDue = refreshMs > 0 && (Number.isNaN(nextRefresh) || now >= nextRefresh);
  if (
    meta.resourceVersion !== undefined &&
    status.syncedResourceVersion === meta.resourceVersion &&
    // A status copied from another object (a CR recreated under this name) names what that one pushed.
    status.secretName === spec.vaultSecretName &&
    status.observedGeneration === ctx.generation &&
    ready?.status === 'True' &&
    !refreshDue
  ) {
    return refreshMs > 0 ? { outcome: 'UpToDate', requeueAfterMs: Math.max(1, nextRefresh - now) } : { outcome: 'UpToDate' };
  }

  // 8. Credentials: the connectionRef's key, else the operator's.
  const options: VaultCallOptions = { signal };
  if (spec.connectionRef) {
    const conn = await readConnectionKey(ctx, spec.connectionRef.name);
    if ('reason' in conn) return blocked(ctx, conn.reason, conn.message);
    options.apiKey = conn.apiKey;
  }

  // 2. The full Secret, only now that a push is needed.
  const secret = await kube('read Secret', () => deps.secrets.read(namespace, secretName, signal));
  if (!secret) return blocked(ctx, 'SecretNotFound', `Secret ${JSON.stringify(secretName)} not found in namespace ${JSON.stringify(namespace)}`);
  const encoded = secret.data?.[spec.secretRef.key];
  if (encoded === undefined) {
    return blocked(ctx, 'KeyNotFound', `Secret ${JSON.stringify(secretName)} has no key ${JSON.stringify(spec.secretRef.key)}`);
  }
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length === 0) {
    return blocked(ctx, 'EmptyValue', `key ${JSON.stringify(spec.secretRef.key)} of Secret ${JSON.stringify(secretName)} is empty`);
  }
  let value: string;
  try {
    value = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return blocked(ctx, 'InvalidValue', `key ${JSON.stringify(spec.secretRef.key)} of Secret ${JSON.stringify(secretName)} is not valid UTF-8`);
  } finally {
    bytes.fill(0);
  }
  const pushedVersion = secret.metadata.resourceVersion ?? meta.resourceVersion ?? '';

  // 4. Push: PUT; 404 with createIfMissing → POST; 409 there → PUT.
  let answer: VaultAnswer;
  let operation: 'update' | 'push' = 'update';
  try {
    answer = await push(deps, spec, value, options, () => (operation = 'push'));
  } catch (e) {
    return vaultFailed(ctx, operation, spec.vaultSecretName, e, spec.connectionRef?.name);
  }
  const reason = answer.created === true ? 'Created' : 'Synced';
  const pushedMessage = `${answer.created === true ? 'created' : 'updated'} vault secret ${JSON.stringify(answer.secretName)} from key ${JSON.stringify(spec.secretRef.key)} of Secret ${JSON.stringify(secretName)} (resourceVersion ${pushedVersion})`;
  await emit(ctx, { type: 'Normal', reason, message: pushedMessage });
  deps.logger?.info({ key, vaultSecretName: answer.secretName, resourceVersion: pushedVersion, reason }, 'pushed to the vault');

  // Renamed with policy Delete: remove the old name after the new one is written.
  const oldName = status.secretName;
  if (oldName !== undefined && oldName !== spec.vaultSecretName && oldName !== answer.secretName && spec.deletionPolicy === 'Delete') {
    const oldOwner = deps.ownership.ownerOf(oldName, connectionId);
    if (oldOwner === undefined || oldOwner === key) {
      try {
        await deleteIgnoringNotFound(deps, oldName, options);
        await emit(ctx, { type: 'Normal', reason: 'Deleted', message: `deleted old vault secret ${JSON.stringify(oldName)} after the rename` });
      } catch (e) {
        // status.secretName keeps the old name so the next attempt deletes it again.
        return vaultFailed(ctx, 'delete', oldName, e, spec.connectionRef?.name);
      }
    }
  }

  // 5. Success: one status write.
  const lastSyncTime = rfc3339(deps.clock.now());
  await writeStatus(ctx, {
    generation: ctx.generation,
    ready: { status: 'True', reason, message: pushedMessage },
    sync: { secretName: answer.secretName, updated: answer.updated, syncedResourceVersion: pushedVersion, lastSyncTime },
  });
  return refreshMs > 0 ? { outcome: 'Pushed', reason, requeueAfterMs: refreshMs } : { outcome: 'Pushed', reason };
}

/** `onFallback` is told when the PUT answered 404 and the create path takes over. */
async function push(
  deps: ReconcileDeps,
  spec: MixpeekSecretSpec,
  value: string,
  options: VaultCallOptions,
  onFallback: () => void,
): Promise<VaultAnswer> {
  const name = spec.vaultSecretName;
  try {
    return await deps.vault.updateSecret(name, value, options);
  } catch (e) {
    if (!(isVaultFailure(e) && e.kind === 'NotFound' && spec.createIfMissing)) throw e;
  }
  onFallback();
  try {
    return await deps.vault.createSecret(name, value, options);
  } catch (e) {
    if (!(isVaultFailure(e) && e.kind === 'AlreadyExists')) throw e;
  }
  // Created by someone else between our PUT and POST.
  return deps.vault.updateSecret(name, value, options);
}

async function deleteIgnoringNotFound(deps: ReconcileDeps, name: string, options: VaultCallOptions): Promise<void> {
  try {
    await deps.vault.deleteSecret(name, options);
  } catch (e) {
    if (!(isVaultFailure(e) && e.kind === 'NotFound')) throw e;
  }
}

/** 1. Deletion: with policy Delete and our finalizer, delete in the vault (404 is done), then release. */
async function finalize(ctx: Ctx, spec: MixpeekSecretSpec, connectionId: string, hasFinalizer: boolean): Promise<ReconcileResult> {
  const { deps, signal, key } = ctx;
  if (!hasFinalizer) return { outcome: 'Deleted' };
  if (spec.deletionPolicy === 'Delete') {
    const names = new Set([spec.vaultSecretName]);
    if (ctx.cr.status?.secretName !== undefined) names.add(ctx.cr.status.secretName);
    // Never delete a name another CR owns (this one was in Conflict for it).
    const mine = [...names].filter((n) => {
      const owner = deps.ownership.ownerOf(n, connectionId);
      return owner === undefined || owner === key;
    });
    if (mine.length > 0) {
      const options: VaultCallOptions = { signal };
      if (spec.connectionRef) {
        const conn = await readConnectionKey(ctx, spec.connectionRef.name);
        // Deleting a namespace deletes the connection Secret too; waiting for it would hold the CR, and the namespace, forever.
        if ('reason' in conn) return releaseWithoutDelete(ctx, `${conn.message}, so vault secret ${mine.map((n) => JSON.stringify(n)).join(', ')} was not deleted`);
        options.apiKey = conn.apiKey;
      }
      for (const n of mine) {
        try {
          await deleteIgnoringNotFound(deps, n, options);
        } catch (e) {
          return vaultFailed(ctx, 'delete', n, e, spec.connectionRef?.name);
        }
        await emit(ctx, { type: 'Normal', reason: 'Deleted', message: `deleted vault secret ${JSON.stringify(n)}` });
      }
    }
  }
  await editFinalizer(ctx, 'remove');
  deps.logger?.info({ key }, 'finalized');
  return { outcome: 'Deleted' };
}

/** Lets a CR being deleted go although its vault secret could not be deleted, and says so. */
async function releaseWithoutDelete(ctx: Ctx, message: string): Promise<ReconcileResult> {
  await editFinalizer(ctx, 'remove');
  await emit(ctx, { type: 'Warning', reason: 'VaultSecretNotDeleted', message });
  ctx.deps.logger?.warn({ key: ctx.key, reason: 'VaultSecretNotDeleted' }, message);
  return { outcome: 'Deleted' };
}

type ConnectionKey = { apiKey: string } | { reason: 'ConnectionNotFound' | 'ConnectionInvalid'; message: string };

/** The connectionRef Secret's apiKey, or why it is unusable. */
async function readConnectionKey(ctx: Ctx, secretName: string): Promise<ConnectionKey> {
  const { namespace } = ctx.ref;
  const conn = await kube('read connection Secret', () => ctx.deps.secrets.read(namespace, secretName, ctx.signal));
  if (!conn) {
    return { reason: 'ConnectionNotFound', message: `connection Secret ${JSON.stringify(secretName)} not found in namespace ${JSON.stringify(namespace)}` };
  }
  const invalid = {
    reason: 'ConnectionInvalid',
    message: `connection Secret ${JSON.stringify(secretName)} needs a non-empty UTF-8 key ${JSON.stringify(CONNECTION_API_KEY)}`,
  } as const;
  const encoded = conn.data?.[CONNECTION_API_KEY];
  if (encoded === undefined) return invalid;
  const bytes = Buffer.from(encoded, 'base64');
  try {
    // A trailing newline from `echo` would otherwise break the header.
    const apiKey = new TextDecoder('utf-8', { fatal: true }).decode(bytes).trim();
    return apiKey === '' ? invalid : { apiKey };
  } catch {
    return invalid;
  } finally {
    bytes.fill(0);
  }
}

function credentialsLabel(connectionRefName: string | undefined): string {
  return connectionRefName === undefined ? "the operator's API key" : `the API key in connection Secret ${JSON.stringify(connectionRefName)}`;
}

/** 6. A vault failure: Ready=False with a reason per error class, a Warning event, a retry. */
async function vaultFailed(
  ctx: Ctx,
  operation: 'update' | 'push' | 'delete',
  vaultName: string,
  error: unknown,
  connectionRefName: string | undefined,
): Promise<ReconcileResult> {
  const what = `${operation} of vault secret ${JSON.stringify(vaultName)} failed`;
  if (!isVaultFailure(error)) {
    // Not the vault client's error: its text is unknown, so none of it is shown.
    ctx.deps.logger?.error({ key: ctx.key, errorType: error instanceof Error ? error.name : typeof error }, 'unexpected error from the vault port');
    return failed(ctx, 'VaultUnavailable', `${what}: unexpected error`);
  }
  const creds = credentialsLabel(connectionRefName);
  switch (error.kind) {
    case 'Aborted':
      return { outcome: 'Failed', error: new ReconcileError('Aborted', `${what}: aborted`) };
    case 'Unauthorized':
      return failed(ctx, 'Unauthorized', `${what}: the vault did not accept ${creds}`);
    case 'Forbidden':
      return failed(ctx, 'Forbidden', `${what}: ${creds} is not allowed to manage organization secrets`);
    case 'RateLimited':
      return failed(ctx, 'RateLimited', `${what}: the vault is rate limiting requests`, error.retryAfterMs);
    case 'Unavailable':
    case 'Timeout':
    case 'InvalidResponse':
      return failed(ctx, 'VaultUnavailable', `${what}: ${describeUnavailable(error.kind)}`, error.retryAfterMs);
    case 'NotFound':
      return failed(ctx, 'VaultSecretNotFound', `${what}: it does not exist in the vault and createIfMissing is false`);
    case 'Rejected':
    case 'AlreadyExists':
      // The vault's own words are not repeated: its 422 echoes the submitted value.
      return failed(ctx, 'VaultRejected', `${what}: the vault rejected the request${error.status !== undefined ? ` (HTTP ${error.status})` : ''}`);
  }
}

function describeUnavailable(kind: 'Unavailable' | 'Timeout' | 'InvalidResponse'): string {
  switch (kind) {
    case 'Unavailable':
      return 'the vault is unavailable';
    case 'Timeout':
      return 'the vault did not answer in time';
    case 'InvalidResponse':
      return 'the vault answered with something unexpected';
  }
}

/**
 * Ready=False, retry with backoff (or after retryAfterMs). The Warning event
 * goes out only when the condition changes: a long outage would otherwise add
 * an Event per retry per CR.
 */
async function failed(ctx: Ctx, reason: FailureReason, message: string, retryAfterMs?: number): Promise<ReconcileResult> {
  const wrote = await writeStatus(ctx, { generation: ctx.generation, ready: { status: 'False', reason, message } });
  if (wrote) await emit(ctx, { type: 'Warning', reason, message });
  ctx.deps.logger?.warn({ key: ctx.key, reason }, message);
  const result: ReconcileResult = { outcome: 'Failed', reason, error: new ReconcileError(reason, message, retryAfterMs) };
  if (retryAfterMs !== undefined) result.requeueAfterMs = retryAfterMs;
  return result;
}

/**
 * Ready=False for a state only a change can fix (bad input, conflict): the
 * Secret or CR watch, or an ownership takeover, brings the CR back, so no
 * retry. The Warning event is emitted when the condition changes, not on
 * every resync.
 */
async function blocked(ctx: Ctx, reason: FailureReason, message: string): Promise<ReconcileResult> {
  const wrote = await writeStatus(ctx, { generation: ctx.generation, ready: { status: 'False', reason, message } });
  if (wrote) {
    await emit(ctx, { type: 'Warning', reason, message });
    ctx.deps.logger?.warn({ key: ctx.key, reason }, message);
  }
  return { outcome: 'Blocked', reason };
}

/**
 * Ready=False InvalidSpec. A spec stored before the schema tightened makes
 * the object invalid as a whole, and an API server without validation
 * ratcheting (before 1.28) then answers 422 to a status write too. The
 * Warning event is the only report left; retrying cannot help until the spec
 * is edited, and that edit wakes the CR.
 */
async function invalidSpec(ctx: Ctx, message: string): Promise<ReconcileResult> {
  try {
    return await blocked(ctx, 'InvalidSpec', message);
  } catch (e) {
    if (!(e instanceof KubernetesApiFailure && e.status === 422)) throw e;
    const unwritable = `${message} (the status cannot be written: the API server rejects this object under the current schema)`;
    await emit(ctx, { type: 'Warning', reason: 'InvalidSpec', message: unwritable });
    ctx.deps.logger?.warn({ key: ctx.key, reason: 'InvalidSpec' }, unwritable);
    return { outcome: 'Blocked', reason: 'InvalidSpec' };
  }
}

/** Only the leader writes: a reconcile whose signal aborted stops before its next write. */
function stopIfAborted(ctx: Ctx): void {
  if (ctx.signal.aborted) throw new ReconcileAborted();
}

async function editFinalizer(ctx: Ctx, op: 'add' | 'remove'): Promise<void> {
  stopIfAborted(ctx);
  const { deps, ref, signal } = ctx;
  await kube(`${op} finalizer`, () => (op === 'add' ? deps.finalizers.add(ref, FINALIZER, signal) : deps.finalizers.remove(ref, FINALIZER, signal)));
}

/** Writes the status only if it would change; returns whether it wrote. */
async function writeStatus(ctx: Ctx, desired: DesiredStatus): Promise<boolean> {
  const patch = statusPatch(ctx.cr.status, desired, rfc3339(ctx.deps.clock.now()));
  if (!patch) return false;
  stopIfAborted(ctx);
  const result = await kube(STATUS_WRITE, () => ctx.deps.status.patchStatus(ctx.ref, patch, ctx.signal));
  if (result === 'Gone') throw new CrGone();
  return true;
}

async function emit(ctx: Ctx, event: ControllerEvent): Promise<void> {
  stopIfAborted(ctx);
  try {
    await ctx.deps.events.emit(ctx.ref, event);
  } catch (e) {
    ctx.deps.logger?.warn({ key: ctx.key, reason: event.reason, error: summarize(e) }, 'recording an event failed');
  }
}

