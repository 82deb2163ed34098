/**
 * The write semantics of the apiserver, shared by the HTTP routes and the programmatic store:
 * create, update (main and /status), patch, delete with finalizers, CRD registration.
 */
import { randomUUID } from 'node:crypto';
import { jsonEqual } from './json-equal.js';
import { serverSideApply } from './apply.js';
import { applyPatch, type PatchType } from './patch.js';
import { keyOf, resourceTypeFromCrd, type Registry, type ResourceType } from './registry.js';
import { applyStructuralSchema } from './schema.js';
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  forbidden,
  invalid,
  notFound,
  type StatusCause,
} from './status-errors.js';
import type { ObjectStore } from './store.js';
import type { KObject } from './types.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  /** The version in the request path (custom resources may serve several). */
  version?: string;
  subresource?: 'status';
  fieldValidation?: FieldValidation;
  dryRun?: boolean;
  /** Server-side apply's field manager. */
  fieldManager?: string;
}

export interface WriteResult {
  object: KObject;
  warnings: string[];
  created: boolean;
}

export interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: string;
}

export type DeleteResult = { object: KObject; removed: boolean };

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asObject(body: unknown): KObject {
  if (!isRecord(body)) throw badRequest('the request body must be a JSON object');
  const metadata = isRecord(body['metadata']) ? body['metadata'] : {};
  return { ...structuredClone(body), metadata: structuredClone(metadata) };
}

function apiVersionOf(rt: ResourceType, version: string | undefined): string {
  const v = version ?? rt.versions[0] ?? 'v1';
  return rt.group ? `${rt.group}/${v}` : v;
}

/** What "spec changed" means for generation: everything but metadata (and status when it has its own endpoint). */
function specPart(rt: ResourceType, obj: KObject): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...obj };
  delete rest['metadata'];
  delete rest['apiVersion'];
  delete rest['kind'];
  if (rt.hasStatus) delete rest['status'];
  return rest;
}

export class ResourceOps {
  constructor(
    private readonly store: ObjectStore,
    private readonly registry: Registry,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get(rt: ResourceType, namespace: string | undefined, name: string): KObject {
    const obj = this.store.get(keyOf(rt), rt.namespaced ? namespace : undefined, name);
    if (!obj) throw notFound({ group: rt.group, resource: rt.plural }, name);
    return obj;
  }

  create(rt: ResourceType, namespace: string | undefined, body: unknown, opts: WriteOptions = {}): WriteResult {
    const obj = asObject(body);
    this.checkKind(rt, obj);
    obj.apiVersion = apiVersionOf(rt, opts.version);
    obj.kind = rt.kind;
    const meta = obj.metadata;
    if (rt.namespaced) {
      if (!namespace) throw badRequest('the namespace is required for namespaced resources');
      if (meta.namespace && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace;
      const ns = this.store.get('namespaces', undefined, namespace);
      if (!ns) throw notFound({ group: '', resource: 'namespaces' }, namespace);
      if (ns.metadata.deletionTimestamp) {
        throw forbidden({ group: rt.group, resource: rt.plural }, meta.name, `unable to create new content in namespace ${namespace} because it is being terminated`);
      }
    } else delete meta.namespace;
    if (!meta.name && meta.generateName) meta.name = this.generatedName(rt, namespace, meta.generateName);
    this.validateName(rt, obj);
    const name = meta.name as string;
    if (this.store.get(keyOf(rt), meta.namespace, name)) throw alreadyExists({ group: rt.group, resource: rt.plural }, name);
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta['deletionGracePeriodSeconds'];
    meta.uid = randomUUID();
    meta.creationTimestamp = timestamp(this.now());
    if (rt.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    // A type with a status endpoint drops status on create, as the apiserver's strategies do.
    if (rt.hasStatus && rt.plural !== 'namespaces') delete obj['status'];
    const warnings = this.prepare(rt, obj, opts, undefined);
    if (opts.dryRun) return { object: obj, warnings, created: true };
    const stored = this.store.put(keyOf(rt), obj);
    this.afterWrite(rt, stored);
    return { object: this.store.get(keyOf(rt), stored.metadata.namespace, name) ?? stored, warnings, created: true };
  }

  update(rt: ResourceType, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions = {}): WriteResult {
    const old = this.get(rt, namespace, name);
    const incoming = asObject(body);
    this.checkKind(rt, incoming);
    if (incoming.metadata.name !== undefined && incoming.metadata.name !== name) {
      throw badRequest(`the name of the object (${incoming.metadata.name}) does not match the name on the URL (${name})`);
    }
    const rv = incoming.metadata.resourceVersion;
    if (rv === undefined || rv === '') {
      if (rt.custom) {
        throw invalid(this.kindGroup(rt), rt.group, rt.kind, name, [
          { reason: 'FieldValueInvalid', message: 'Invalid value: 0x0: must be specified for an update', field: 'metadata.resourceVersion' },
        ]);
      }
    } else if (rv !== old.metadata.resourceVersion) throw conflict({ group: rt.group, resource: rt.plural }, name);
    return this.replace(rt, old, incoming, opts);
  }

  patch(rt: ResourceType, namespace: string | undefined, name: string, type: PatchType, body: unknown, opts: WriteOptions = {}): WriteResult {
    const key = keyOf(rt);
    const old = this.store.get(key, rt.namespaced ? namespace : undefined, name);
    const manager = opts.fieldManager ?? 'kube-sim';
    if (!old) {
      if (type !== 'apply' || opts.subresource) throw notFound({ group: rt.group, resource: rt.plural }, name);
      const fresh = asObject(body);
      fresh.metadata.name ??= name;
      return this.create(rt, namespace, serverSideApply(undefined, fresh, manager, timestamp(this.now())), opts);
    }
    let patched: unknown;
    if (type === 'apply') {
      const applied = asObject(body);
      this.checkKind(rt, applied);
      patched = serverSideApply(old, applied, manager, timestamp(this.now()));
    } else patched = applyPatch(type, old, body, rt.custom);
    if (!isRecord(patched)) throw badRequest('the patch produced a value that is not an object');
    const incoming = asObject(patched);
    if (incoming.metadata.name !== name) throw badRequest('the patch may not change metadata.name');
    const rv = incoming.metadata.resourceVersion;
    if (rv !== undefined && rv !== old.metadata.resourceVersion) throw conflict({ group: rt.group, resource: rt.plural }, name);
    return this.replace(rt, old, incoming, opts);
  }

  delete(rt: ResourceType, namespace: string | undefined, name: string, opts: DeleteOptions = {}): DeleteResult {
    const old = this.get(rt, namespace, name);
    const qr = { group: rt.group, resource: rt.plural };
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== old.metadata.uid) {
      throw conflict(qr, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid ?? ''}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(qr, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion ?? ''}`);
    }
    const key = keyOf(rt);
    if (rt.plural === 'namespaces' && !rt.group) return this.deleteNamespace(old);
    if (rt.plural === 'customresourcedefinitions') this.dropCustomType(old);
    if ((old.metadata.finalizers ?? []).length > 0) {
      if (old.metadata.deletionTimestamp) return { object: old, removed: false };
      const marked: KObject = structuredClone(old);
      marked.metadata.deletionTimestamp = timestamp(this.now());
      marked.metadata['deletionGracePeriodSeconds'] = 0;
      if (typeof marked.metadata.generation === 'number') marked.metadata.generation += 1;
      return { object: this.store.put(key, marked), removed: false };
    }
    const gone = this.store.remove(key, old.metadata.namespace, name) ?? old;
    this.finishNamespaceIfEmpty(old.metadata.namespace);
    return { object: gone, removed: true };
  }

  /** The common tail of update and patch: what each endpoint may change, generation, no-op detection. */
  private replace(rt: ResourceType, old: KObject, incoming: KObject, opts: WriteOptions): WriteResult {
    let next: KObject;
    if (opts.subresource === 'status') {
      next = structuredClone(old);
      if (incoming['status'] === undefined) delete next['status'];
      else next['status'] = incoming['status'];
    } else {
      next = incoming;
      next.apiVersion = old.apiVersion;
      next.kind = rt.kind;
      const m = next.metadata;
      m.name = old.metadata.name;
      if (old.metadata.namespace !== undefined) m.namespace = old.metadata.namespace;
      else delete m.namespace;
      m.uid = old.metadata.uid;
      m.creationTimestamp = old.metadata.creationTimestamp;
      if (old.metadata.deletionTimestamp) {
        m.deletionTimestamp = old.metadata.deletionTimestamp;
        m['deletionGracePeriodSeconds'] = old.metadata['deletionGracePeriodSeconds'];
      } else {
        delete m.deletionTimestamp;
        delete m['deletionGracePeriodSeconds'];
      }
      if (rt.hasStatus) {
        if (old['status'] === undefined) delete next['status'];
        else next['status'] = old['status'];
      }
    }
    // An update that does not mention managedFields keeps them, as the apiserver does.
    if (next.metadata.managedFields === undefined && old.metadata.managedFields !== undefined) next.metadata.managedFields = old.metadata.managedFields;
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    if (rt.tracksGeneration) next.metadata.generation = old.metadata.generation ?? 1;
    else delete next.metadata.generation;
    const warnings = this.prepare(rt, next, opts, old);
    if (rt.tracksGeneration && !jsonEqual(specPart(rt, old), specPart(rt, next))) {
      next.metadata.generation = (old.metadata.generation ?? 1) + 1;
    }
    const key = keyOf(rt);
    if (old.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
      if (opts.dryRun) return { object: next, warnings, created: false };
      const gone = this.store.remove(key, old.metadata.namespace, old.metadata.name ?? '') ?? next;
      this.finishNamespaceIfEmpty(old.metadata.namespace);
      return { object: gone, warnings, created: false };
    }
    if (jsonEqual(old, next)) return { object: old, warnings, created: false };
    if (opts.dryRun) return { object: next, warnings, created: false };
    const stored = this.store.put(key, next);
    this.afterWrite(rt, stored);
    return { object: this.store.get(key, stored.metadata.namespace, stored.metadata.name ?? '') ?? stored, warnings, created: false };
  }

  /** Type-specific normalisation and validation before a write; returns field warnings. */
  private prepare(rt: ResourceType, obj: KObject, opts: WriteOptions, old: KObject | undefined): string[] {
    if (!obj.metadata.finalizers?.length) delete obj.metadata.finalizers;
    if (!rt.group && rt.plural === 'secrets') this.prepareSecret(obj);
    if (!rt.group && rt.plural === 'namespaces' && !old) {
      obj['spec'] = { finalizers: ['kubernetes'] };
      obj['status'] = { phase: 'Active' };
    }
    if (rt.plural === 'customresourcedefinitions' && rt.group === 'apiextensions.k8s.io') {
      const parsed = resourceTypeFromCrd(obj);
      if (typeof parsed === 'string') {
        throw invalid(this.kindGroup(rt), rt.group, rt.kind, obj.metadata.name ?? '', [{ reason: 'FieldValueInvalid', message: parsed, field: 'spec' }]);
      }
    }
    if (!rt.custom) return [];
    const version = opts.version ?? rt.versions[0] ?? '';
    const schema = rt.schemas[version];
    if (schema === undefined) return [];
    const { object, errors, unknownFields } = applyStructuralSchema(obj, schema);
    if (errors.length > 0) {
      const causes: StatusCause[] = errors.map((e) => ({ reason: e.type, message: e.message, field: e.field }));
      throw invalid(this.kindGroup(rt), rt.group, rt.kind, obj.metadata.name ?? '', causes);
    }
    const unknown = unknownFields.filter((p) => !p.startsWith('metadata.'));
    if (unknown.length > 0 && opts.fieldValidation === 'Strict') {
      throw badRequest(
        `${rt.kind} in version "${version}" cannot be handled as a ${rt.kind}: strict decoding error: ${unknown.map((p) => `unknown field "${p}"`).join(', ')}`,
      );
    }
    const pruned = object as KObject;
    for (const k of Object.keys(obj)) delete obj[k];
    Object.assign(obj, pruned);
    return opts.fieldValidation === 'Ignore' ? [] : unknown.map((p) => `unknown field "${p}"`);
  }

  private prepareSecret(obj: KObject): void {
    const stringData = obj['stringData'];
    if (isRecord(stringData)) {
      const data: Record<string, unknown> = isRecord(obj['data']) ? { ...obj['data'] } : {};
      for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      obj['data'] = data;
    }
    delete obj['stringData'];
    obj['type'] ??= 'Opaque';
    const data = obj['data'];
    if (data !== undefined && !isRecord(data)) throw badRequest('Secret.data must be an object of base64 strings');
    for (const [k, v] of Object.entries(isRecord(data) ? data : {})) {
      if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) {
        throw badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data at key "${k}"`);
      }
    }
  }

  private afterWrite(rt: ResourceType, stored: KObject): void {
    if (rt.plural !== 'customresourcedefinitions' || rt.group !== 'apiextensions.k8s.io') return;
    const parsed = resourceTypeFromCrd(stored);
    if (typeof parsed === 'string') return;
    this.registry.upsertCustom(parsed);
    // The apiserver's CRD controllers accept the names and mark it Established shortly after a write.
    const spec = (stored['spec'] ?? {}) as { names?: unknown; versions?: { name?: string; storage?: boolean }[] };
    const status = {
      conditions: [
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: timestamp(this.now()) },
        { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: timestamp(this.now()) },
      ],
      acceptedNames: spec.names ?? {},
      storedVersions: (spec.versions ?? []).filter((v) => v.storage).map((v) => v.name),
    };
    const current = stored['status'] as { conditions?: { type?: string; lastTransitionTime?: string }[] } | undefined;
    if (current && jsonEqual({ ...current, conditions: undefined }, { ...status, conditions: undefined }) && current.conditions?.length === 2) return;
    const next = structuredClone(stored);
    next['status'] = status;
    this.store.put(keyOf(rt), next);
  }

  private dropCustomType(crd: KObject): void {
    const parsed = resourceTypeFromCrd(crd);
    if (typeof parsed === 'string') return;
    const key = keyOf(parsed);
    for (const o of this.store.list(key)) this.store.remove(key, o.metadata.namespace, o.metadata.name ?? '');
    this.registry.removeCustom(key);
  }

  /**
   * A namespace is marked Terminating, its content deleted; it goes once nothing is left (objects
   * with finalizers keep it until their finalizers are removed).
   */
  private deleteNamespace(ns: KObject): DeleteResult {
    const name = ns.metadata.name ?? '';
    let current = ns;
    if (!ns.metadata.deletionTimestamp) {
      const marked: KObject = structuredClone(ns);
      marked.metadata.deletionTimestamp = timestamp(this.now());
      marked.metadata['deletionGracePeriodSeconds'] = 0;
      marked['status'] = { phase: 'Terminating' };
      current = this.store.put('namespaces', marked);
    }
    this.emptyNamespace(name);
    this.finishNamespaceIfEmpty(name);
    const still = this.store.get('namespaces', undefined, name);
    return still ? { object: still, removed: false } : { object: current, removed: true };
  }

  private finishNamespaceIfEmpty(namespace: string | undefined): KObject | undefined {
    if (namespace === undefined) return undefined;
    const ns = this.store.get('namespaces', undefined, namespace);
    if (!ns?.metadata.deletionTimestamp) return undefined;
    if (this.registry.all().some((rt) => rt.namespaced && this.store.list(keyOf(rt), namespace).length > 0)) return undefined;
    return this.store.remove('namespaces', undefined, namespace);
  }

  private emptyNamespace(namespace: string): void {
    for (const rt of this.registry.all()) {
      if (!rt.namespaced) continue;
      for (const o of this.store.list(keyOf(rt), namespace)) {
        try {
          this.delete(rt, namespace, o.metadata.name ?? '');
        } catch (err) {
          if (!(err instanceof ApiError && err.kind === 'NotFound')) throw err;
        }
      }
    }
  }

  private checkKind(rt: ResourceType, obj: KObject): void {
    if (obj.kind !== undefined && obj.kind !== rt.kind) {
      throw badRequest(`the object kind ${obj.kind} does not match the resource ${rt.plural} (kind ${rt.kind})`);
    }
  }

  private validateName(rt: ResourceType, obj: KObject): void {
    const name = obj.metadata.name;
    const causes: StatusCause[] = [];
    if (!name) causes.push({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
    else if (rt.group === 'rbac.authorization.k8s.io') {
      // RBAC objects are named by path segment rules (`system:basic-user` is valid).
      if (name === '.' || name === '..' || /[/%]/.test(name)) {
        causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${name}": may not contain '/' or '%'`, field: 'metadata.name' });
      }
    } else if (name.length > 253 || !NAME_RE.test(name) || (rt.plural === 'namespaces' && (name.length > 63 || name.includes('.')))) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
        field: 'metadata.name',
      });
    }
    if (causes.length > 0) throw invalid(this.kindGroup(rt), rt.group, rt.kind, name ?? '', causes);
  }

  private generatedName(rt: ResourceType, namespace: string | undefined, prefix: string): string {
    for (;;) {
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += GENERATE_ALPHABET[Math.floor(Math.random() * GENERATE_ALPHABET.length)];
      const name = `${prefix}${suffix}`;
      if (!this.store.get(keyOf(rt), rt.namespaced ? namespace : undefined, name)) return name;
    }
  }

  private kindGroup(rt: ResourceType): string {
    return rt.group ? `${rt.kind}.${rt.group}` : rt.kind;
  }
}
