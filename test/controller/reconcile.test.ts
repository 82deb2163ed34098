import { describe, expect, it } from 'vitest';
import { CapturedLog, createLogger } from '../../src/observability/log.js';
import { claimOf, Ownership } from '../../src/controller/ownership.js';
import type {
  ControllerEvent,
  CrRef,
  ReconcileDeps,
  SecretMeta,
  VaultAnswer,
  VaultCallOptions,
  VaultErrorKind,
  VaultPort,
} from '../../src/controller/ports.js';
import { reconcile, type ReconcileResult } from '../../src/controller/reconcile.js';
import { applyStatusPatch, type StatusPatch } from '../../src/controller/status.js';
import { FINALIZER, objectKey, type CoreSecret, type StoredMixpeekSecret } from '../../src/controller/types.js';

const VALUE = 'sk_live_RADIOACTIVE_value_4242';
const VALUE2 = 'sk_live_RADIOACTIVE_rotated_9898';
const TENANT_KEY = 'tenant_RADIOACTIVE_apikey_7777';
const SECRETS_TO_FIND = [VALUE, VALUE2, TENANT_KEY, b64(VALUE), b64(VALUE2), b64(TENANT_KEY)];

function b64(s: string | Uint8Array): string {
  return Buffer.from(s).toString('base64');
}

/** Shaped like src/mixpeek/errors.ts VaultError; its message deliberately echoes the value, as a careless error could. */
class FakeVaultError extends Error {
  constructor(
    readonly kind: VaultErrorKind,
    readonly retryAfterMs?: number,
    readonly status?: number,
    echoed = '',
  ) {
    super(`fake vault ${kind} ${echoed}`);
  }
}

interface VaultCall {
  op: 'update' | 'create' | 'delete';
  name: string;
  value?: string;
  apiKey?: string;
}

class FakeVault implements VaultPort {
  readonly stored = new Map<string, string>();
  readonly calls: VaultCall[] = [];
  /** Errors thrown by the next calls, in order, optionally only for one op. */
  readonly failures: { op?: VaultCall['op']; error: unknown }[] = [];
  /** Runs during each call, before it is answered. */
  onCall: ((call: VaultCall) => void) | undefined;

  private record(call: VaultCall): void {
    this.calls.push(call);
    this.onCall?.(call);
    const i = this.failures.findIndex((f) => f.op === undefined || f.op === call.op);
    if (i >= 0) {
      const [f] = this.failures.splice(i, 1);
      throw f?.error;
    }
  }

  updateSecret(name: string, value: string, o: VaultCallOptions): Promise<VaultAnswer> {
    this.record(withKey({ op: 'update', name, value }, o));
    if (!this.stored.has(name)) return Promise.reject(new FakeVaultError('NotFound', undefined, 404));
    this.stored.set(name, value);
    return Promise.resolve({ secretName: name, created: null, updated: true, deleted: null });
  }

  createSecret(name: string, value: string, o: VaultCallOptions): Promise<VaultAnswer> {
    this.record(withKey({ op: 'create', name, value }, o));
    if (this.stored.has(name)) return Promise.reject(new FakeVaultError('AlreadyExists', undefined, 409));
    this.stored.set(name, value);
    return Promise.resolve({ secretName: name, created: true, updated: null, deleted: null });
  }

  deleteSecret(name: string, o: VaultCallOptions): Promise<VaultAnswer> {
    this.record(withKey({ op: 'delete', name }, o));
    if (!this.stored.delete(name)) return Promise.reject(new FakeVaultError('NotFound', undefined, 404));
    return Promise.resolve({ secretName: name, created: null, updated: null, deleted: true });
  }
}

function withKey(call: VaultCall, o: VaultCallOptions): VaultCall {
  if (o.apiKey !== undefined) call.apiKey = o.apiKey;
  return call;
}

interface CrInit {
  ns?: string;
  name?: string;
  spec?: unknown;
  created?: string;
  uid?: string;
  generation?: number;
}

/** An in-memory cluster: CRs, Secrets, what the controller wrote. */
class World {
  readonly crs = new Map<string, StoredMixpeekSecret>();
  readonly secrets = new Map<string, CoreSecret>();
  readonly vault = new FakeVault();
  readonly ownership = new Ownership();
  readonly patches: { ref: CrRef; patch: StatusPatch }[] = [];
  readonly events: { ref: CrRef; event: ControllerEvent }[] = [];
  readonly finalizerOps: { op: 'add' | 'remove'; key: string }[] = [];
  readonly results: ReconcileResult[] = [];
  readonly log = new CapturedLog();
  readonly logger = createLogger({ level: 'debug', destination: this.log });
  nowMs = Date.parse('2026-11-26T10:00:00Z');
  secretReads = 0;
  failStatusWrites = false;
  private rv = 100;

  nextRv(): string {
    this.rv += 1;
    return String(this.rv);
  }

  addCr(init: CrInit = {}): StoredMixpeekSecret {
    const ns = init.ns ?? 'payments';
    const name = init.name ?? 'stripe';
    const cr: StoredMixpeekSecret = {
      apiVersion: 'mixpeek.com/v1alpha1',
      kind: 'MixpeekSecret',
      metadata: {
        namespace: ns,
        name,
        uid: init.uid ?? `uid-${ns}-${name}`,
        generation: init.generation ?? 1,
        resourceVersion: this.nextRv(),
        creationTimestamp: init.created ?? '2026-11-01T00:00:00Z',
      },
      spec: init.spec ?? { secretRef: { name: 'stripe-credentials', key: 'api-key' }, vaultSecretName: 'stripe_api_key' },
    };
    this.crs.set(objectKey(ns, name), cr);
    const claim = claimOf(cr);
    if (claim) this.ownership.upsert(claim);
    return cr;
  }

  cr(key = 'payments/stripe'): StoredMixpeekSecret {
    const cr = this.crs.get(key);
    if (!cr) throw new Error(`no CR ${key}`);
    return cr;
  }

  /** A spec edit: generation moves. */
  editSpec(key: string, spec: unknown): void {
    const cr = this.cr(key);
    cr.spec = spec;
    cr.metadata.generation = (cr.metadata.generation ?? 0) + 1;
    cr.metadata.resourceVersion = this.nextRv();
    const claim = claimOf(cr);
    if (claim) this.ownership.upsert(claim);
  }

  putSecret(ns: string, name: string, data: Record<string, string | Uint8Array>): CoreSecret {
    const encoded: Record<string, string> = {};
    for (const [k, v] of Object.entries(data)) encoded[k] = b64(v);
    const s: CoreSecret = { metadata: { namespace: ns, name, resourceVersion: this.nextRv() }, type: 'Opaque', data: encoded };
    this.secrets.set(objectKey(ns, name), s);
    return s;
  }

  deps(): ReconcileDeps {
    return {
      crs: { get: (ns, name) => this.crs.get(objectKey(ns, name)) },
      secrets: {
        meta: (ns, name): SecretMeta | undefined => {
          const s = this.secrets.get(objectKey(ns, name));
          return s ? { resourceVersion: s.metadata.resourceVersion } : undefined;
        },
        read: (ns, name) => {
          this.secretReads += 1;
          const s = this.secrets.get(objectKey(ns, name));
          return Promise.resolve(s ? structuredClone(s) : undefined);
        },
      },
      vault: this.vault,
      status: {
        patchStatus: (ref, patch) => {
          if (this.failStatusWrites) return Promise.reject(new Error('apiserver said 500'));
          const cr = this.crs.get(objectKey(ref.namespace, ref.name));
          if (!cr) return Promise.resolve('Gone' as const); // the API server's 404
          this.patches.push({ ref, patch: structuredClone(patch) });
          cr.status = applyStatusPatch(cr.status, patch);
          cr.metadata.resourceVersion = this.nextRv();
          return Promise.resolve('Written' as const);
        },
      },
      finalizers: {
        add: (ref, f) => {
          const key = objectKey(ref.namespace, ref.name);
          this.finalizerOps.push({ op: 'add', key });
          const cr = this.cr(key);
          cr.metadata.finalizers = [...new Set([...(cr.metadata.finalizers ?? []), f])];
          return Promise.resolve();
        },
        remove: (ref, f) => {
          const key = objectKey(ref.namespace, ref.name);
          this.finalizerOps.push({ op: 'remove', key });
          const cr = this.crs.get(key);
          if (!cr) return Promise.resolve();
          cr.metadata.finalizers = (cr.metadata.finalizers ?? []).filter((x) => x !== f);
          if (cr.metadata.deletionTimestamp !== undefined && cr.metadata.finalizers.length === 0) {
            this.crs.delete(key);
            this.ownership.remove(key);
          }
          return Promise.resolve();
        },
      },
      events: {
        emit: (ref, event) => {
          this.events.push({ ref, event });
        },
      },
      ownership: this.ownership,
      clock: { now: () => this.nowMs },
      logger: this.logger,
    };
  }

  async run(key = 'payments/stripe', signal?: AbortSignal): Promise<ReconcileResult> {
    const r = await reconcile(key, this.deps(), signal);
    this.results.push(r);
    return r;
  }

  ready(key = 'payments/stripe'): { status: string; reason: string; message: string; lastTransitionTime: string } | undefined {
    return this.cr(key).status?.conditions?.find((c) => c.type === 'Ready');
  }

  /** Everything the controller produced that a user or log pipeline could see. */
  visible(): string {
    const errors = this.results.flatMap((r) => (r.error ? [r.error.message, r.error.stack ?? '', JSON.stringify(r.error)] : []));
    return [
      JSON.stringify(this.patches),
      JSON.stringify(this.events),
      JSON.stringify([...this.crs.values()].map((c) => c.status)),
      JSON.stringify(this.results),
      ...errors,
      this.log.text,
    ].join('\n');
  }
}

/** A world with one CR and its Secret, ready to push. */
function basic(spec?: Record<string, unknown>): World {
  const w = new World();
  w.putSecret('payments', 'stripe-credentials', { 'api-key': VALUE });
  w.addCr({
    spec: { secretRef: { name: 'stripe-credentials', key: 'api-key' }, vaultSecretName: 'stripe_api_key', ...spec },
  });
  return w;
}

describe('reconcile: push (steps 4 and 5)', () => {
  it('creates the vault secret when PUT answers 404 and records the answer in one status write', async () => {
    const w = basic();
    const r = await w.run();
    expect(r).toMatchObject({ outcome: 'Pushed', reason: 'Created' });
    expect(r.error).toBeUndefined();
    expect(w.vault.calls.map((c) => c.op)).toEqual(['update', 'create']);
    expect(w.vault.stored.get('stripe_api_key')).toBe(VALUE);
    expect(w.patches).toHaveLength(1);
    const status = w.cr().status;
    expect(status).toMatchObject({
      secretName: 'stripe_api_key',
      syncedResourceVersion: w.secrets.get('payments/stripe-credentials')?.metadata.resourceVersion,
      observedGeneration: 1,
      lastSyncTime: '2026-11-26T10:00:00Z',
    });
    expect(status?.updated).toBeUndefined(); // the vault answered updated: null to the create
    expect(w.ready()).toMatchObject({ status: 'True', reason: 'Created', lastTransitionTime: '2026-11-26T10:00:00Z' });
    expect(w.events.map((e) => [e.event.type, e.event.reason])).toEqual([['Normal', 'Created']]);
    expect(w.finalizerOps).toEqual([]); // Retain: no finalizer
  });

  it('updates an existing vault secret with PUT and stores updated as answered', async () => {
    const w = basic();
    w.vault.stored.set('stripe_api_key', 'old');
    const r = await w.run();
    expect(r).toMatchObject({ outcome: 'Pushed', reason: 'Synced' });
    expect(w.vault.calls).toEqual([{ op: 'update', name: 'stripe_api_key', value: VALUE }]);
    expect(w.cr().status?.updated).toBe(true);
    expect(w.ready()).toMatchObject({ status: 'True', reason: 'Synced' });
    expect(w.events.map((e) => e.event.type)).toEqual(['Normal']);
  });

  it('a POST answered 409 (created meanwhile) falls back to PUT', async () => {
    const w = basic();
    w.vault.failures.push({ op: 'create', error: new FakeVaultError('AlreadyExists', undefined, 409) });
    // The first PUT says 404, the POST 409, the second PUT finds it.
    const origUpdate = w.vault.updateSecret.bind(w.vault);
    let first = true;
    w.vault.updateSecret = (name, value, o) => {
      if (first) {
        first = false;
        w.vault.calls.push({ op: 'update', name, value });
        return Promise.reject(new FakeVaultError('NotFound', undefined, 404));
      }
      w.vault.stored.set(name, 'someone else');
      return origUpdate(name, value, o);
    };
    const r = await w.run();
    expect(r.outcome).toBe('Pushed');
    expect(w.vault.calls.map((c) => c.op)).toEqual(['update', 'create', 'update']);
    expect(w.vault.stored.get('stripe_api_key')).toBe(VALUE);
    expect(w.ready()?.reason).toBe('Synced');
  });

  it('with createIfMissing false a 404 is reported, never POSTed', async () => {
    const w = basic({ createIfMissing: false });
    const r = await w.run();
    expect(w.vault.calls.map((c) => c.op)).toEqual(['update']);
    expect(r.outcome).toBe('Failed');
    expect(r.error?.kind).toBe('VaultSecretNotFound');
    expect(w.ready()).toMatchObject({ status: 'False', reason: 'VaultSecretNotFound' });
  });

  it('a rotated Secret is pushed again with the new value; a spec edit pushes too', async () => {
    const w = basic();
    await w.run();
    const rotated = w.putSecret('payments', 'stripe-credentials', { 'api-key': VALUE2 });
    const r = await w.run();
    expect(r).toMatchObject({ outcome: 'Pushed', reason: 'Synced' });
    expect(w.vault.stored.get('stripe_api_key')).toBe(VALUE2);
    expect(w.cr().status?.syncedResourceVersion).toBe(rotated.metadata.resourceVersion);
    expect(w.events.filter((e) => e.event.type === 'Normal')).toHaveLength(2);

    w.editSpec('payments/stripe', { ...(w.cr().spec as object), refreshInterval: '0s' });
    const again = await w.run();
    expect(again.outcome).toBe('Pushed');
    expect(w.cr().status?.observedGeneration).toBe(2);
  });
});

describe('reconcile: already synced (step 3)', () => {
  it('does nothing at all: no vault call, no full Secret read, no status write, no event', async () => {
    const w = basic();
    await w.run();
    const calls = w.vault.calls.length;
    const reads = w.secretReads;
    const patches = w.patches.length;
    const events = w.events.length;
    w.nowMs += 3_600_000;
    const r = await w.run();
    expect(r).toEqual({ outcome: 'UpToDate' });
    expect(w.vault.calls.length).toBe(calls);
    expect(w.secretReads).toBe(reads);
    expect(w.patches.length).toBe(patches);
    expect(w.events.length).toBe(events);
  });

  it('refreshInterval re-pushes when due and asks to be requeued until then', async () => {
    const w = basic({ refreshInterval: '1h' });
    const first = await w.run();
    expect(first).toMatchObject({ outcome: 'Pushed', requeueAfterMs: 3_600_000 });
    w.nowMs += 20 * 60_000;
    const early = await w.run();
    expect(early).toEqual({ outcome: 'UpToDate', requeueAfterMs: 40 * 60_000 });
    expect(w.vault.calls).toHaveLength(2); // update(404) + create
    w.nowMs += 40 * 60_000;
    const due = await w.run();
    expect(due).toMatchObject({ outcome: 'Pushed', requeueAfterMs: 3_600_000 });
    expect(w.vault.calls.at(-1)).toMatchObject({ op: 'update', value: VALUE });
    expect(w.cr().status?.lastSyncTime).toBe('2026-11-26T11:00:00Z');
  });

  it('a status naming another vault secret (the CR was recreated under this name) is not "synced": it pushes', async () => {
    const w = basic({ vaultSecretName: 'stripe_new' });
    const secret = w.secrets.get('payments/stripe-credentials');
    // The old object's in-flight reconcile wrote its status onto the new one.
    w.cr().status = {
      secretName: 'stripe_old',
      syncedResourceVersion: secret?.metadata.resourceVersion ?? '',
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Synced', message: '', observedGeneration: 1, lastTransitionTime: '2026-11-26T09:00:00Z' }],
    };
    const r = await w.run();
    expect(r).toMatchObject({ outcome: 'Pushed', reason: 'Created' });
    expect(w.vault.stored.get('stripe_new')).toBe(VALUE);
    expect(w.cr().status?.secretName).toBe('stripe_new');
  });

  it('Ready=False with matching versions is not "synced": it pushes', async () => {
    const w = basic();
    w.vault.failures.push({ error: new FakeVaultError('Unavailable', undefined, 503) });
    await w.run();
    expect(w.ready()?.status).toBe('False');
    const r = await w.run();
    expect(r.outcome).toBe('Pushed');
    expect(w.ready()).toMatchObject({ status: 'True', reason: 'Created' });
  });
});

describe('reconcile: bad input never calls the vault (step 2)', () => {
  const cases: { reason: string; setup: (w: World) => void }[] = [
    { reason: 'SecretNotFound', setup: (w) => w.secrets.clear() },
    { reason: 'KeyNotFound', setup: (w) => w.putSecret('payments', 'stripe-credentials', { other: VALUE }) },
    { reason: 'EmptyValue', setup: (w) => w.putSecret('payments', 'stripe-credentials', { 'api-key': '' }) },
    {
      reason: 'InvalidValue',
      setup: (w) => w.putSecret('payments', 'stripe-credentials', { 'api-key': new Uint8Array([0x61, 0xff, 0xfe, 0x62]) }),
    },
  ];
  for (const c of cases) {
    it(`${c.reason}: Ready=False, one Warning event, no vault call, no retry; repeating writes nothing`, async () => {
      const w = basic();
      c.setup(w);
      const r = await w.run();
      expect(r).toEqual({ outcome: 'Blocked', reason: c.reason });
      expect(w.vault.calls).toEqual([]);
      expect(w.ready()).toMatchObject({ status: 'False', reason: c.reason });
      expect(w.events.map((e) => [e.event.type, e.event.reason])).toEqual([['Warning', c.reason]]);
      const again = await w.run();
      expect(again).toEqual({ outcome: 'Blocked', reason: c.reason });
      expect(w.patches).toHaveLength(1);
      expect(w.events).toHaveLength(1);
      expect(w.vault.calls).toEqual([]);
    });
  }

  it('a Secret deleted after the cache saw it is SecretNotFound too', async () => {
    const w = basic();
    const deps = w.deps();
    deps.secrets.read = () => Promise.resolve(undefined);
    const r = await reconcile('payments/stripe', deps);
    expect(r.reason).toBe('SecretNotFound');
    expect(w.vault.calls).toEqual([]);
  });

  it('a fixed Secret recovers: Ready goes True with a new lastTransitionTime', async () => {
    const w = basic();
    w.putSecret('payments', 'stripe-credentials', { 'api-key': '' });
    await w.run();
    const failedAt = w.ready()?.lastTransitionTime;
    w.nowMs += 60_000;
    w.putSecret('payments', 'stripe-credentials', { 'api-key': VALUE });
    const r = await w.run();
    expect(r.outcome).toBe('Pushed');
    expect(w.ready()?.status).toBe('True');
    expect(w.ready()?.lastTransitionTime).not.toBe(failedAt);
  });

  it('a stored spec that breaks the schema is InvalidSpec, listing the problems, without a crash', async () => {
    const w = new World();
    w.addCr({ spec: { secretRef: { name: 'Bad_Name' }, vaultSecretName: 'has space', deletionPolicy: 'Sometimes', refreshInterval: 'soon' } });
    const r = await w.run();
    expect(r).toEqual({ outcome: 'Blocked', reason: 'InvalidSpec' });
    const msg = w.ready()?.message ?? '';
    for (const field of ['secretRef.name', 'secretRef.key', 'vaultSecretName', 'deletionPolicy', 'refreshInterval']) {
      expect(msg).toContain(field);
    }
    expect(w.vault.calls).toEqual([]);
    w.addCr({ name: 'nospec', spec: null });
    w.cr('payments/nospec').spec = undefined;
    expect(await w.run('payments/nospec')).toEqual({ outcome: 'Blocked', reason: 'InvalidSpec' });
  });

  it('a CR that no longer exists is Gone, touching nothing', async () => {
    const w = new World();
    expect(await w.run('payments/missing')).toEqual({ outcome: 'Gone' });
    expect(w.patches).toEqual([]);
  });
});

describe('reconcile: vault failures (step 6)', () => {
  const cases: { kind: VaultErrorKind; reason: string; retryAfterMs?: number }[] = [
    { kind: 'Unauthorized', reason: 'Unauthorized' },
    { kind: 'Forbidden', reason: 'Forbidden' },
    { kind: 'RateLimited', reason: 'RateLimited', retryAfterMs: 7_000 },
    { kind: 'Unavailable', reason: 'VaultUnavailable' },
    { kind: 'Timeout', reason: 'VaultUnavailable' },
    { kind: 'InvalidResponse', reason: 'VaultUnavailable' },
    { kind: 'Rejected', reason: 'VaultRejected' },
  ];
  for (const c of cases) {
    it(`${c.kind} → Ready=False ${c.reason}, Warning event, retried${c.retryAfterMs ? ' after Retry-After' : ' with backoff'}`, async () => {
      const w = basic();
      w.vault.stored.set('stripe_api_key', 'old');
      w.vault.failures.push({ error: new FakeVaultError(c.kind, c.retryAfterMs, 400, VALUE) });
      const r = await w.run();
      expect(r.outcome).toBe('Failed');
      expect(r.error?.kind).toBe(c.reason);
      expect(r.requeueAfterMs).toBe(c.retryAfterMs);
      expect(w.ready()).toMatchObject({ status: 'False', reason: c.reason, observedGeneration: 1 });
      expect(w.events.map((e) => [e.event.type, e.event.reason])).toEqual([['Warning', c.reason]]);
      expect(w.cr().status?.syncedResourceVersion).toBeUndefined();
      expect(w.visible()).not.toContain(VALUE);
    });
  }

  it('an error that is not a VaultError is VaultUnavailable and none of its text is repeated', async () => {
    const w = basic();
    w.vault.failures.push({ error: new Error(`boom ${VALUE}`) });
    const r = await w.run();
    expect(r.error?.kind).toBe('VaultUnavailable');
    expect(w.visible()).not.toContain(VALUE);
  });

  it('Aborted (shutdown) writes no status and emits no event', async () => {
    const w = basic();
    w.vault.failures.push({ error: new FakeVaultError('Aborted') });
    const r = await w.run();
    expect(r.error?.kind).toBe('Aborted');
    expect(w.patches).toEqual([]);
    expect(w.events).toEqual([]);
  });

  it('a failing status write is a KubernetesApi error to retry, not a throw', async () => {
    const w = basic();
    w.failStatusWrites = true;
    const r = await w.run();
    expect(r.error?.kind).toBe('KubernetesApi');
    expect(r.error?.message).toContain('patch MixpeekSecret status');
  });

  it('a failing Secret read is reported on the CR and retried; none of its error text (which could hold a body) is repeated', async () => {
    const w = basic();
    const deps = w.deps();
    deps.secrets.read = () => Promise.reject(Object.assign(new Error(`bad body ${b64(VALUE)} ${VALUE}`), { code: 403 }));
    const r = await reconcile('payments/stripe', deps);
    w.results.push(r);
    const message = 'Kubernetes API call failed: read Secret (HTTP 403)';
    expect(r).toMatchObject({ outcome: 'Failed', reason: 'KubernetesApiError', error: { kind: 'KubernetesApiError', message } });
    expect(w.ready()).toMatchObject({ status: 'False', reason: 'KubernetesApiError', message });
    expect(w.events.map((e) => [e.event.type, e.event.reason, e.event.message])).toEqual([['Warning', 'KubernetesApiError', message]]);
    expect(w.vault.calls).toEqual([]);
    expect(w.visible()).not.toContain(VALUE);
  });

  it('a failing finalizer edit is reported on the CR too, naming the operation', async () => {
    const w = basic({ deletionPolicy: 'Delete' });
    const deps = w.deps();
    deps.finalizers.add = () => Promise.reject(Object.assign(new Error('internal error'), { code: 500 }));
    const r = await reconcile('payments/stripe', deps);
    expect(r.error?.kind).toBe('KubernetesApiError');
    expect(w.ready()).toMatchObject({ status: 'False', reason: 'KubernetesApiError', message: 'Kubernetes API call failed: add finalizer (HTTP 500)' });
    expect(w.vault.calls).toEqual([]);
  });

  it('a status write answered 404 (the CR was deleted meanwhile) is Gone, not a failure', async () => {
    const w = basic();
    const deps = w.deps();
    // The cache still hands out the CR, but the API server no longer has it.
    deps.crs.get = (ns, name) => {
      const cr = w.crs.get(objectKey(ns, name));
      w.crs.delete(objectKey(ns, name));
      return cr;
    };
    const r = await reconcile('payments/stripe', deps);
    expect(r).toEqual({ outcome: 'Gone' });
  });

  it('a failure repeated with the same reason emits no second event; a new reason does', async () => {
    const w = basic();
    w.vault.stored.set('stripe_api_key', 'old');
    w.vault.failures.push(
      { error: new FakeVaultError('Unavailable', undefined, 503) },
      { error: new FakeVaultError('Unavailable', undefined, 503) },
      { error: new FakeVaultError('Unavailable', undefined, 503) },
      { error: new FakeVaultError('Unauthorized', undefined, 401) },
    );
    for (let i = 0; i < 4; i++) expect((await w.run()).error).toBeDefined(); // every one is still retried
    expect(w.events.map((e) => [e.event.type, e.event.reason])).toEqual([
      ['Warning', 'VaultUnavailable'],
      ['Warning', 'Unauthorized'],
    ]);
    expect(w.patches).toHaveLength(2);
  });

  it('a failed create after PUT answered 404 is reported as a failed push, not update', async () => {
    const w = basic();
    w.vault.failures.push({ op: 'create', error: new FakeVaultError('Unavailable', undefined, 503) });
    await w.run();
    expect(w.ready()?.message).toBe('push of vault secret "stripe_api_key" failed: the vault is unavailable');
  });

  it('a failing event sink never fails the reconcile', async () => {
    const w = basic();
    const deps = w.deps();
    deps.events.emit = () => Promise.reject(new Error('events are forbidden'));
    const r = await reconcile('payments/stripe', deps);
    expect(r.outcome).toBe('Pushed');
    expect(w.log.text).toContain('recording an event failed');
  });
});

describe('reconcile: deletion and the finalizer (step 1)', () => {
  it('policy Delete adds the finalizer; deleting the CR deletes the vault secret then releases it', async () => {
    const w = basic({ deletionPolicy: 'Delete' });
    await w.run();
    expect(w.cr().metadata.finalizers).toEqual([FINALIZER]);
    expect(w.vault.stored.has('stripe_api_key')).toBe(true);
    w.cr().metadata.deletionTimestamp = '2026-11-26T10:05:00Z';
    const r = await w.run();
    expect(r).toEqual({ outcome: 'Deleted' });
    expect(w.vault.calls.at(-1)).toEqual({ op: 'delete', name: 'stripe_api_key' });
    expect(w.vault.stored.has('stripe_api_key')).toBe(false);
    expect(w.crs.has('payments/stripe')).toBe(false);
  });

  it('a 404 on DELETE counts as done', async () => {
    const w = basic({ deletionPolicy: 'Delete' });
    await w.run();
    w.vault.stored.clear();
    w.cr().metadata.deletionTimestamp = '2026-11-26T10:05:00Z';
    expect(await w.run()).toEqual({ outcome: 'Deleted' });
    expect(w.crs.has('payments/stripe')).toBe(false);
  });

  it('a failed DELETE keeps the finalizer, reports it and retries', async () => {
    const w = basic({ deletionPolicy: 'Delete' });
    await w.run();
    w.cr().metadata.deletionTimestamp = '2026-11-26T10:05:00Z';
    w.vault.failures.push({ op: 'delete', error: new FakeVaultError('Unavailable', undefined, 503) });
    const r = await w.run();
    expect(r.error?.kind).toBe('VaultUnavailable');
    expect(w.cr().metadata.finalizers).toEqual([FINALIZER]);
    expect(w.ready()?.reason).toBe('VaultUnavailable');
    expect(await w.run()).toEqual({ outcome: 'Deleted' });
  });

  it('policy Retain: no finalizer, and one left from Delete is removed without touching the vault', async () => {
    const w = basic({ deletionPolicy: 'Delete' });
    await w.run();
    w.editSpec('payments/stripe', { ...(w.cr().spec as object), deletionPolicy: 'Retain' });
    await w.run();
    expect(w.cr().metadata.finalizers).toEqual([]);
    w.cr().metadata.deletionTimestamp = '2026-11-26T10:05:00Z';
    const calls = w.vault.calls.length;
    expect(await w.run()).toEqual({ outcome: 'Deleted' });
    expect(w.vault.calls.length).toBe(calls);
    expect(w.vault.stored.has('stripe_api_key')).toBe(true);
  });

  it('a CR being deleted with policy Retain and our finalizer releases it without a vault call', async () => {
    const w = basic();
    w.cr().metadata.finalizers = [FINALIZER];
    w.cr().metadata.deletionTimestamp = '2026-11-26T10:05:00Z';
    expect(await w.run()).toEqual({ outcome: 'Deleted' });
    expect(w.vault.calls).toEqual([]);
    expect(w.crs.has('payments/stripe')).toBe(false);
  });

  it('a CR being deleted whose connection Secret is gone (namespace deletion) is released, saying the vault secret stays', async () => {
    const w = basic({ deletionPolicy: 'Delete', connectionRef: { name: 'conn' } });
    w.putSecret('payments', 'conn', { apiKey: TENANT_KEY });
    await w.run();
    w.secrets.delete('payments/conn');
    w.cr().metadata.deletionTimestamp = '2026-11-26T10:05:00Z';
    expect(await w.run()).toEqual({ outcome: 'Deleted' });
    expect(w.crs.has('payments/stripe')).toBe(false);
    const last = w.events.at(-1)?.event;
    expect(last).toMatchObject({ type: 'Warning', reason: 'VaultSecretNotDeleted' });
    expect(last?.message).toContain('"conn" not found');
    expect(last?.message).toContain('"stripe_api_key" was not deleted');
    expect(w.vault.stored.has('stripe_api_key')).toBe(true);
    expect(w.vault.calls.some((c) => c.op === 'delete')).toBe(false);
  });

  it('a CR being deleted whose connection Secret has no usable apiKey is released too', async () => {
    const w = basic({ deletionPolicy: 'Delete', connectionRef: { name: 'conn' } });
    w.putSecret('payments', 'conn', { apiKey: TENANT_KEY });
    await w.run();
    w.putSecret('payments', 'conn', { token: TENANT_KEY });
    w.cr().metadata.deletionTimestamp = '2026-11-26T10:05:00Z';
    expect(await w.run()).toEqual({ outcome: 'Deleted' });
    expect(w.crs.has('payments/stripe')).toBe(false);
    expect(w.events.at(-1)?.event).toMatchObject({ type: 'Warning', reason: 'VaultSecretNotDeleted' });
    expect(w.visible()).not.toContain(TENANT_KEY);
  });

  it('a CR being deleted with an invalid spec releases the finalizer and says the vault secret stays', async () => {
    const w = new World();
    w.addCr({ spec: { vaultSecretName: 'x' } });
    w.cr().metadata.finalizers = [FINALIZER];
    w.cr().metadata.deletionTimestamp = '2026-11-26T10:05:00Z';
    expect(await w.run()).toEqual({ outcome: 'Deleted' });
    expect(w.events.map((e) => e.event.reason)).toEqual(['VaultSecretNotDeleted']);
    expect(w.vault.calls).toEqual([]);
  });
});

describe('reconcile: only the leader writes (invariant 7)', () => {
  it('leadership lost during the vault call: no status write, no event, the result says Aborted', async () => {
    const w = basic();
    const leading = new AbortController();
    w.vault.onCall = () => leading.abort();
    const r = await w.run('payments/stripe', leading.signal);
    expect(r.outcome).toBe('Failed');
    expect(r.error?.kind).toBe('Aborted');
    expect(w.vault.calls.length).toBeGreaterThan(0);
    expect(w.patches).toEqual([]);
    expect(w.events).toEqual([]);
  });

  it('a vault failure seen after leadership was lost is not written either', async () => {
    const w = basic();
    const leading = new AbortController();
    w.vault.onCall = () => leading.abort();
    w.vault.failures.push({ error: new FakeVaultError('Unavailable', undefined, 503) });
    const r = await w.run('payments/stripe', leading.signal);
    expect(r.error?.kind).toBe('Aborted');
    expect(w.patches).toEqual([]);
    expect(w.events).toEqual([]);
  });

  it('no finalizer is added or removed once the signal aborted', async () => {
    const w = basic({ deletionPolicy: 'Delete' });
    const leading = new AbortController();
    leading.abort();
    expect((await w.run('payments/stripe', leading.signal)).error?.kind).toBe('Aborted');
    expect(w.finalizerOps).toEqual([]);

    await w.run();
    w.cr().metadata.deletionTimestamp = '2026-11-26T10:05:00Z';
    const events = w.events.length;
    const again = new AbortController();
    w.vault.onCall = () => again.abort();
    expect((await w.run('payments/stripe', again.signal)).error?.kind).toBe('Aborted');
    expect(w.cr().metadata.finalizers).toEqual([FINALIZER]);
    expect(w.events.length).toBe(events);
  });

  it('an invalid spec is not written once the signal aborted', async () => {
    const w = new World();
    w.addCr({ spec: { vaultSecretName: 'x' } });
    const leading = new AbortController();
    leading.abort();
    expect((await w.run('payments/stripe', leading.signal)).error?.kind).toBe('Aborted');
    expect(w.patches).toEqual([]);
    expect(w.events).toEqual([]);
  });
});

describe('reconcile: rename (step 4)', () => {
  it('with policy Delete, the old name is deleted after the new one is written', async () => {
    const w = basic({ deletionPolicy: 'Delete' });
    await w.run();
    w.editSpec('payments/stripe', { ...(w.cr().spec as object), vaultSecretName: 'stripe_key_v2' });
    const r = await w.run();
    expect(r.outcome).toBe('Pushed');
    const ops = w.vault.calls.slice(2).map((c) => `${c.op}:${c.name}`);
    expect(ops).toEqual(['update:stripe_key_v2', 'create:stripe_key_v2', 'delete:stripe_api_key']);
    expect([...w.vault.stored.keys()]).toEqual(['stripe_key_v2']);
    expect(w.cr().status?.secretName).toBe('stripe_key_v2');
  });

  it('with policy Retain, the old name stays', async () => {
    const w = basic();
    await w.run();
    w.editSpec('payments/stripe', { ...(w.cr().spec as object), vaultSecretName: 'stripe_key_v2' });
    await w.run();
    expect([...w.vault.stored.keys()].sort()).toEqual(['stripe_api_key', 'stripe_key_v2']);
    expect(w.vault.calls.some((c) => c.op === 'delete')).toBe(false);
  });

  it('a failed delete of the old name keeps it in status.secretName so the next attempt retries it', async () => {
    const w = basic({ deletionPolicy: 'Delete' });
    await w.run();
    w.editSpec('payments/stripe', { ...(w.cr().spec as object), vaultSecretName: 'stripe_key_v2' });
    w.vault.failures.push({ op: 'delete', error: new FakeVaultError('Unavailable') });
    const r = await w.run();
    expect(r.error?.kind).toBe('VaultUnavailable');
    expect(w.cr().status?.secretName).toBe('stripe_api_key');
    const again = await w.run();
    expect(again.outcome).toBe('Pushed');
    expect([...w.vault.stored.keys()]).toEqual(['stripe_key_v2']);
    expect(w.cr().status?.secretName).toBe('stripe_key_v2');
  });
});

describe('reconcile: conflicts (step 7)', () => {
  function twoTenants(): World {
    const w = new World();
    w.putSecret('team-a', 'creds', { k: VALUE });
    w.putSecret('team-b', 'creds', { k: VALUE2 });
    const spec = { secretRef: { name: 'creds', key: 'k' }, vaultSecretName: 'shared', deletionPolicy: 'Delete' };
    w.addCr({ ns: 'team-b', name: 'newer', spec, created: '2026-11-02T00:00:00Z', uid: 'a-uid' });
    w.addCr({ ns: 'team-a', name: 'older', spec, created: '2026-11-01T00:00:00Z', uid: 'z-uid' });
    return w;
  }

  it('the oldest CR owns the name; the other reports Conflict naming it, without a vault call', async () => {
    const w = twoTenants();
    const r = await w.run('team-b/newer');
    expect(r).toEqual({ outcome: 'Blocked', reason: 'Conflict' });
    expect(w.vault.calls).toEqual([]);
    expect(w.ready('team-b/newer')?.message).toContain('team-a/older');
    expect((await w.run('team-a/older')).outcome).toBe('Pushed');
    expect(w.vault.stored.get('shared')).toBe(VALUE);
  });

  it('when the owner is deleted it deletes its vault secret and the next CR takes over and recreates it', async () => {
    const w = twoTenants();
    await w.run('team-a/older');
    await w.run('team-b/newer');
    // Deleting the non-owner never deletes the owner's vault secret.
    w.cr('team-b/newer').metadata.deletionTimestamp = '2026-11-26T10:05:00Z';
    w.addCr({ ns: 'team-c', name: 'third', spec: w.cr('team-a/older').spec, created: '2026-11-03T00:00:00Z' });
    w.putSecret('team-c', 'creds', { k: VALUE2 });
    expect(await w.run('team-b/newer')).toEqual({ outcome: 'Deleted' });
    expect(w.vault.stored.get('shared')).toBe(VALUE);
    expect(w.vault.calls.some((c) => c.op === 'delete')).toBe(false);
    // Owner deleted: its DELETE runs; removal hands ownership to team-c.
    w.cr('team-a/older').metadata.deletionTimestamp = '2026-11-26T10:06:00Z';
    expect(await w.run('team-a/older')).toEqual({ outcome: 'Deleted' });
    expect(w.ownership.ownerOf('shared', 'operator')).toBe('team-c/third');
    expect((await w.run('team-c/third')).outcome).toBe('Pushed');
    expect(w.vault.stored.get('shared')).toBe(VALUE2);
  });

  it('the same name with different credentials is no conflict', async () => {
    const w = new World();
    w.putSecret('team-a', 'creds', { k: VALUE });
    w.putSecret('team-b', 'creds', { k: VALUE2 });
    w.putSecret('team-b', 'mixpeek', { apiKey: TENANT_KEY });
    w.addCr({ ns: 'team-a', name: 'x', spec: { secretRef: { name: 'creds', key: 'k' }, vaultSecretName: 'shared' } });
    w.addCr({
      ns: 'team-b',
      name: 'y',
      created: '2026-11-05T00:00:00Z',
      spec: { secretRef: { name: 'creds', key: 'k' }, vaultSecretName: 'shared', connectionRef: { name: 'mixpeek' } },
    });
    expect((await w.run('team-b/y')).outcome).toBe('Pushed');
  });
});

describe('reconcile: credentials (step 8)', () => {
  it("a connectionRef's apiKey is used for this CR's vault calls", async () => {
    const w = basic({ connectionRef: { name: 'mixpeek-api' } });
    w.putSecret('payments', 'mixpeek-api', { apiKey: `${TENANT_KEY}\n` });
    await w.run();
    expect(w.vault.calls.map((c) => c.apiKey)).toEqual([TENANT_KEY, TENANT_KEY]);
  });

  it('without a connectionRef no key is passed: the client uses the operator key', async () => {
    const w = basic();
    await w.run();
    expect(w.vault.calls.every((c) => c.apiKey === undefined)).toBe(true);
  });

  it('a missing connection Secret is ConnectionNotFound; one without apiKey is ConnectionInvalid; no vault call', async () => {
    const w = basic({ connectionRef: { name: 'mixpeek-api' } });
    expect(await w.run()).toEqual({ outcome: 'Blocked', reason: 'ConnectionNotFound' });
    w.putSecret('payments', 'mixpeek-api', { token: TENANT_KEY });
    expect(await w.run()).toEqual({ outcome: 'Blocked', reason: 'ConnectionInvalid' });
    expect(w.vault.calls).toEqual([]);
  });

  it('Unauthorized with a connectionRef names the connection Secret, not the key', async () => {
    const w = basic({ connectionRef: { name: 'mixpeek-api' } });
    w.putSecret('payments', 'mixpeek-api', { apiKey: TENANT_KEY });
    w.vault.failures.push({ error: new FakeVaultError('Unauthorized', undefined, 401, TENANT_KEY) });
    await w.run();
    expect(w.ready()?.message).toContain('mixpeek-api');
    expect(w.visible()).not.toContain(TENANT_KEY);
  });
});

describe('secret values never leave through status, events, errors or logs', () => {
  it('a scripted run through every path leaks nothing', async () => {
    const w = basic({ deletionPolicy: 'Delete', connectionRef: { name: 'conn' } });
    w.putSecret('payments', 'conn', { apiKey: TENANT_KEY });
    await w.run();
    for (const kind of ['Unauthorized', 'Forbidden', 'RateLimited', 'Rejected', 'Unavailable', 'Timeout'] as const) {
      w.putSecret('payments', 'stripe-credentials', { 'api-key': kind.length % 2 ? VALUE : VALUE2 });
      w.vault.failures.push({ error: new FakeVaultError(kind, 1000, 422, `${VALUE} ${VALUE2} ${TENANT_KEY}`) });
      await w.run();
      await w.run();
    }
    w.vault.failures.push({ error: new Error(`${VALUE} ${TENANT_KEY}`) });
    w.putSecret('payments', 'stripe-credentials', { 'api-key': VALUE2 });
    await w.run();
    w.putSecret('payments', 'stripe-credentials', { 'api-key': new Uint8Array([0xc3, 0x28]) });
    await w.run();
    w.cr().metadata.deletionTimestamp = '2026-11-26T10:05:00Z';
    await w.run();

    expect(w.patches.length).toBeGreaterThan(5);
    expect(w.events.length).toBeGreaterThan(5);
    expect(w.log.lines.length).toBeGreaterThan(5);
    const seen = w.visible();
    for (const s of SECRETS_TO_FIND) expect(seen).not.toContain(s);
  });
});
