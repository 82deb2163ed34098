/**
 * Conformance through the real @kubernetes/client-node typed APIs (and raw HTTP where the shape on the
 * wire is the point): CRUD semantics, selectors, paging, CRDs, status subresource, finalizers.
 */
import {
  ApiException,
  ApiextensionsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type V1Secret,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeSim, type KubeSim } from './index.js';
import { eventually, GROUP, PLURAL, raw, VERSION, widget, widgetCrd, WIDGETS } from './test-fixtures.js';
import type { KObject } from './types.js';

let sim: KubeSim;
let core: CoreV1Api;
let custom: CustomObjectsApi;

async function failure(p: Promise<unknown>): Promise<{ code: number; status: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiException) {
      return { code: err.code, status: JSON.parse(String(err.body)) as Record<string, unknown> };
    }
    throw err;
  }
  throw new Error('expected the call to fail');
}

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

beforeAll(async () => {
  sim = await startKubeSim();
  const kc = sim.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: 'apps' } } });
  // Raw POST: client-node's typed model would drop `default`/`enum` (it names them `_default`/`_enum`).
  const created = await raw(sim.url, sim.adminToken, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', widgetCrd());
  expect(created.status).toBe(201);
  const crds = await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition();
  expect(crds.items.map((c) => c.metadata?.name)).toContain(WIDGETS);
});

afterAll(async () => {
  await sim.close();
});

describe('create', () => {
  it('fills generateName, uid, creationTimestamp and resourceVersion, and merges stringData into data', async () => {
    const s = await core.createNamespacedSecret({
      namespace: 'apps',
      body: { metadata: { generateName: 'tok-' }, data: { a: Buffer.from('x').toString('base64') }, stringData: { b: 'héllo' } },
    });
    expect(s.metadata?.name).toMatch(/^tok-[a-z0-9]{5}$/);
    expect(s.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(Number(s.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect(s.type).toBe('Opaque');
    expect(s.data).toEqual({ a: 'eA==', b: Buffer.from('héllo').toString('base64') });
    expect((s as V1Secret & { stringData?: unknown }).stringData).toBeUndefined();
  });

  it('answers 409 AlreadyExists for a duplicate name', async () => {
    await core.createNamespacedSecret({ namespace: 'apps', body: { metadata: { name: 'dup' } } });
    const { code, status } = await failure(core.createNamespacedSecret({ namespace: 'apps', body: { metadata: { name: 'dup' } } }));
    expect(code).toBe(409);
    expect(status).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'AlreadyExists', code: 409, message: 'secrets "dup" already exists', details: { name: 'dup', kind: 'secrets' } });
  });

  it('answers 404 when the namespace does not exist, as the apiserver does', async () => {
    const { code, status } = await failure(core.createNamespacedSecret({ namespace: 'nope', body: { metadata: { name: 'x' } } }));
    expect(code).toBe(404);
    expect(status).toMatchObject({ reason: 'NotFound', message: 'namespaces "nope" not found', details: { name: 'nope', kind: 'namespaces' } });
  });

  it('answers 422 Invalid for a bad name', async () => {
    const { code, status } = await failure(core.createNamespacedSecret({ namespace: 'apps', body: { metadata: { name: 'Bad_Name' } } }));
    expect(code).toBe(422);
    expect(status).toMatchObject({ reason: 'Invalid', details: { causes: [{ field: 'metadata.name' }] } });
  });
});

describe('get and the global resourceVersion', () => {
  it('answers 404 NotFound with a real-shaped Status', async () => {
    const { code, status } = await failure(core.readNamespacedSecret({ name: 'missing', namespace: 'apps' }));
    expect(code).toBe(404);
    expect(status).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'secrets "missing" not found', reason: 'NotFound', details: { name: 'missing', kind: 'secrets' }, code: 404 });
  });

  it('gives every write, of any type, the next resourceVersion of one global sequence', async () => {
    const a = await core.createNamespacedSecret({ namespace: 'apps', body: { metadata: { name: 'rv-a' } } });
    const b = await core.createNamespacedServiceAccount({ namespace: 'apps', body: { metadata: { name: 'rv-b' } } });
    const c = await core.patchNamespacedSecret({ name: 'rv-a', namespace: 'apps', body: { metadata: { labels: { x: 'y' } } } }, merge);
    expect(Number(b.metadata?.resourceVersion)).toBe(Number(a.metadata?.resourceVersion) + 1);
    expect(Number(c.metadata?.resourceVersion)).toBe(Number(b.metadata?.resourceVersion) + 1);
    const list = await core.listNamespacedSecret({ namespace: 'apps' });
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThanOrEqual(Number(c.metadata?.resourceVersion));
  });
});

describe('update', () => {
  it('applies an update with the current resourceVersion and refuses a stale one with 409 Conflict', async () => {
    const s = await core.createNamespacedSecret({ namespace: 'apps', body: { metadata: { name: 'upd' }, stringData: { k: 'v1' } } });
    const fresh = await core.replaceNamespacedSecret({ name: 'upd', namespace: 'apps', body: { ...s, stringData: { k: 'v2' } } });
    expect(Buffer.from(fresh.data?.['k'] ?? '', 'base64').toString()).toBe('v2');
    const { code, status } = await failure(core.replaceNamespacedSecret({ name: 'upd', namespace: 'apps', body: { ...s, stringData: { k: 'v3' } } }));
    expect(code).toBe(409);
    expect(status).toMatchObject({ reason: 'Conflict', message: 'Operation cannot be fulfilled on secrets "upd": the object has been modified; please apply your changes to the latest version and try again' });
  });

  it('does not bump the resourceVersion for an update that changes nothing', async () => {
    const s = await core.createNamespacedSecret({ namespace: 'apps', body: { metadata: { name: 'noop' }, stringData: { k: 'v' } } });
    const again = await core.patchNamespacedSecret({ name: 'noop', namespace: 'apps', body: { data: { k: 'dg==' } } }, merge);
    expect(again.metadata?.resourceVersion).toBe(s.metadata?.resourceVersion);
  });
});

describe('list', () => {
  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: 'listing' } } });
    for (let i = 0; i < 7; i++) {
      await core.createNamespacedSecret({ namespace: 'listing', body: { metadata: { name: `s${i}`, labels: { parity: i % 2 ? 'odd' : 'even', idx: String(i) } } } });
    }
  });

  it('filters by labelSelector', async () => {
    const odd = await core.listNamespacedSecret({ namespace: 'listing', labelSelector: 'parity=odd' });
    expect(odd.items.map((s) => s.metadata?.name)).toEqual(['s1', 's3', 's5']);
    const set = await core.listNamespacedSecret({ namespace: 'listing', labelSelector: 'idx in (0,6),parity!=odd' });
    expect(set.items.map((s) => s.metadata?.name)).toEqual(['s0', 's6']);
  });

  it('filters by fieldSelector metadata.name and metadata.namespace', async () => {
    const one = await core.listNamespacedSecret({ namespace: 'listing', fieldSelector: 'metadata.name=s4' });
    expect(one.items.map((s) => s.metadata?.name)).toEqual(['s4']);
    const all = await core.listSecretForAllNamespaces({ fieldSelector: 'metadata.namespace=listing,metadata.name!=s0' });
    expect(all.items).toHaveLength(6);
  });

  it('pages with limit and continue', async () => {
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedSecret({ namespace: 'listing', limit: 3, _continue: token });
      names.push(...page.items.map((s) => s.metadata?.name ?? ''));
      token = page.metadata?._continue;
      if (token) expect(page.metadata?.remainingItemCount).toBe(7 - names.length);
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(names).toEqual(['s0', 's1', 's2', 's3', 's4', 's5', 's6']);
  });

  it('answers 400 for a malformed label selector', async () => {
    const { code, status } = await failure(core.listNamespacedSecret({ namespace: 'listing', labelSelector: 'a in (' }));
    expect(code).toBe(400);
    expect(status['reason']).toBe('BadRequest');
  });

  it('answers metadata-only lists and gets for as=PartialObjectMetadataList / PartialObjectMetadata', async () => {
    await core.createNamespacedSecret({ namespace: 'listing', body: { metadata: { name: 'meta' }, stringData: { secret: 'do-not-send' } } });
    const list = await raw(sim.url, sim.adminToken, 'GET', '/api/v1/namespaces/listing/secrets?fieldSelector=metadata.name%3Dmeta', undefined, {
      Accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
    });
    expect(list.text).not.toContain('do-not-send');
    expect(list.text).not.toContain(Buffer.from('do-not-send').toString('base64'));
    expect(list.json()).toMatchObject({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', items: [{ kind: 'PartialObjectMetadata', metadata: { name: 'meta' } }] });
    const one = await raw(sim.url, sim.adminToken, 'GET', '/api/v1/namespaces/listing/secrets/meta', undefined, {
      Accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
    });
    expect(one.json()).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'meta', namespace: 'listing' } });
    expect(one.text).not.toContain(Buffer.from('do-not-send').toString('base64'));
  });
});

describe('custom resources', () => {
  const ns = 'apps';
  const params = { group: GROUP, version: VERSION, namespace: ns, plural: PLURAL };

  it('serves the CRD group/version in discovery with the status subresource', async () => {
    const res = await raw(sim.url, sim.adminToken, 'GET', `/apis/${GROUP}/${VERSION}`);
    const doc = res.json() as { resources: { name: string; kind: string; namespaced: boolean; shortNames?: string[] }[] };
    expect(doc.resources.map((r) => r.name)).toEqual([PLURAL, `${PLURAL}/status`]);
    expect(doc.resources[0]).toMatchObject({ kind: 'Widget', namespaced: true, shortNames: ['wd'] });
    const crd = sim.store.get('customresourcedefinitions.apiextensions.k8s.io', undefined, WIDGETS);
    const conditions = (crd?.['status'] as { conditions: { type: string; status: string }[] }).conditions;
    expect(conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
  });

  it('applies defaults, prunes unknown fields and sets generation 1, dropping status on create', async () => {
    const body = { ...widget('w-defaults', ns, { size: 3, extra: 'gone' }), status: { observed: 9 } };
    const w = (await custom.createNamespacedCustomObject({ ...params, body })) as KObject;
    expect(w['spec']).toEqual({ size: 3, color: 'blue' });
    expect(w.metadata.generation).toBe(1);
    expect(w['status']).toBeUndefined();
  });

  it('answers 422 Invalid with causes for an object that breaks the schema', async () => {
    const { code, status } = await failure(custom.createNamespacedCustomObject({ ...params, body: widget('w-bad', ns, { size: 11, color: 'green', label: 'UPPER' }) }));
    expect(code).toBe(422);
    expect(status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Invalid', code: 422, details: { name: 'w-bad', group: GROUP, kind: 'Widget' } });
    expect(String(status['message'])).toMatch(/^Widget\.sim\.example\.com "w-bad" is invalid: /);
    const fields = ((status['details'] as { causes: { field: string; reason: string }[] }).causes).map((c) => `${c.field}:${c.reason}`).sort();
    expect(fields).toEqual(['spec.color:FieldValueNotSupported', 'spec.label:FieldValueInvalid', 'spec.size:FieldValueInvalid']);
    const missing = await failure(custom.createNamespacedCustomObject({ ...params, body: widget('w-missing', ns, {}) }));
    expect(missing.status).toMatchObject({ reason: 'Invalid', details: { causes: [{ field: 'spec.size', reason: 'FieldValueRequired' }] } });
  });

  it('refuses unknown fields with fieldValidation=Strict and warns by default', async () => {
    const strict = await raw(sim.url, sim.adminToken, 'POST', `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}?fieldValidation=Strict`, widget('w-strict', ns, { size: 1, bogus: 1 }));
    expect(strict.status).toBe(400);
    expect(strict.json()).toMatchObject({ reason: 'BadRequest', message: expect.stringContaining('unknown field "spec.bogus"') as unknown });
    const warn = await raw(sim.url, sim.adminToken, 'POST', `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`, widget('w-warn', ns, { size: 1, bogus: 1 }));
    expect(warn.status).toBe(201);
    expect(warn.headers.get('warning')).toContain('unknown field \\"spec.bogus\\"');
  });

  it('moves generation only on spec changes; the main endpoint ignores status and /status ignores the rest', async () => {
    await custom.createNamespacedCustomObject({ ...params, body: widget('w-gen', ns, { size: 2 }) });
    const labelled = (await custom.patchNamespacedCustomObject({ ...params, name: 'w-gen', body: { metadata: { labels: { a: 'b' } }, status: { observed: 5 } } }, merge)) as KObject;
    expect(labelled.metadata.generation).toBe(1);
    expect(labelled.metadata.labels).toEqual({ a: 'b' });
    expect(labelled['status']).toBeUndefined();
    const withStatus = (await custom.patchNamespacedCustomObjectStatus({ ...params, name: 'w-gen', body: { spec: { size: 9 }, metadata: { labels: { c: 'd' } }, status: { observed: 1 } } }, merge)) as KObject;
    expect(withStatus['status']).toEqual({ observed: 1 });
    expect(withStatus['spec']).toEqual({ size: 2, color: 'blue' });
    expect(withStatus.metadata.labels).toEqual({ a: 'b' });
    expect(withStatus.metadata.generation).toBe(1);
    const specChanged = (await custom.patchNamespacedCustomObject({ ...params, name: 'w-gen', body: [{ op: 'replace', path: '/spec/size', value: 4 }] })) as KObject;
    expect(specChanged.metadata.generation).toBe(2);
    expect(specChanged['status']).toEqual({ observed: 1 });
  });

  it('bumps generation on any non-metadata change when the CRD has no status subresource', async () => {
    const crd = widgetCrd({ statusSubresource: false });
    crd.metadata.name = 'gadgets.sim.example.com';
    const spec = crd['spec'] as { names: Record<string, unknown> };
    spec.names = { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' };
    sim.store.create('customresourcedefinitions.apiextensions.k8s.io', crd);
    const g = sim.store.create('gadgets.sim.example.com', { apiVersion: `${GROUP}/v1`, kind: 'Gadget', metadata: { name: 'g', namespace: ns }, spec: { size: 1 }, status: { observed: 1 } });
    expect(g['status']).toEqual({ observed: 1 });
    const s = sim.store.patch('gadgets.sim.example.com', ns, 'g', { status: { observed: 2 } });
    expect(s.metadata.generation).toBe(2);
    const res = await raw(sim.url, sim.adminToken, 'GET', `/apis/${GROUP}/v1/namespaces/${ns}/gadgets/g/status`);
    expect(res.status).toBe(404);
  });

  it('replaces status with a PUT to /status and refuses a stale resourceVersion there', async () => {
    const w = (await custom.createNamespacedCustomObject({ ...params, body: widget('w-put', ns, { size: 2 }) })) as KObject;
    const next = (await custom.replaceNamespacedCustomObjectStatus({ ...params, name: 'w-put', body: { ...w, status: { observed: 7 } } })) as KObject;
    expect(next['status']).toEqual({ observed: 7 });
    const { code } = await failure(custom.replaceNamespacedCustomObjectStatus({ ...params, name: 'w-put', body: { ...w, status: { observed: 8 } } }));
    expect(code).toBe(409);
  });

  it('refuses an update of a custom resource without a resourceVersion (422), as custom resources allow no unconditional update', async () => {
    const w = (await custom.createNamespacedCustomObject({ ...params, body: widget('w-norv', ns, { size: 2 }) })) as KObject;
    const body = { ...w, metadata: { ...w.metadata, resourceVersion: undefined } };
    const { code, status } = await failure(custom.replaceNamespacedCustomObject({ ...params, name: 'w-norv', body }));
    expect(code).toBe(422);
    expect(status).toMatchObject({ reason: 'Invalid', details: { causes: [{ field: 'metadata.resourceVersion' }] } });
  });

  it('answers a watch asked as=Table with Table events carrying the printer columns', async () => {
    const controller = new AbortController();
    const res = await fetch(`${sim.url}/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}?watch=true&fieldSelector=metadata.name%3Dw-tablewatch`, {
      headers: { Authorization: `Bearer ${sim.adminToken}`, Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
      signal: controller.signal,
    });
    await custom.createNamespacedCustomObject({ ...params, body: widget('w-tablewatch', ns, { size: 3 }) });
    let text = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      text += Buffer.from(chunk).toString();
      if (text.includes('\n')) break;
    }
    controller.abort();
    const event = JSON.parse(text.split('\n')[0] ?? '') as { type: string; object: { kind: string; rows: { cells: unknown[] }[] } };
    expect(event.type).toBe('ADDED');
    expect(event.object.kind).toBe('Table');
    expect(event.object.rows[0]?.cells.slice(0, 3)).toEqual(['w-tablewatch', 3, 'blue']);
  });

  it('server-side apply creates when absent and merges when present', async () => {
    const apply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
    const created = (await custom.patchNamespacedCustomObject({ ...params, name: 'w-ssa', fieldManager: 'test', force: true, body: widget('w-ssa', ns, { size: 5 }) }, apply)) as KObject;
    expect(created.metadata.uid).toBeDefined();
    expect(created['spec']).toEqual({ size: 5, color: 'blue' });
    const updated = (await custom.patchNamespacedCustomObject({ ...params, name: 'w-ssa', fieldManager: 'test', force: true, body: widget('w-ssa', ns, { size: 6, color: 'red' }) }, apply)) as KObject;
    expect(updated['spec']).toEqual({ size: 6, color: 'red' });
    expect(updated.metadata.uid).toBe(created.metadata.uid);
    expect(updated.metadata.generation).toBe(2);
  });

  it('server-side apply removes fields the same manager stopped applying, keeps other managers\' fields, and is a no-op when unchanged', async () => {
    const apply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
    const ssa = (manager: string, spec: Record<string, unknown>, labels?: Record<string, string>) =>
      custom.patchNamespacedCustomObject({ ...params, name: 'w-own', fieldManager: manager, force: true, body: widget('w-own', ns, spec, labels ? { labels } : {}) }, apply) as Promise<KObject>;
    await ssa('alpha', { size: 3, color: 'red', label: 'abc' }, { team: 'a' });
    await ssa('beta', { size: 3 }, { other: 'b' });
    const after = await ssa('alpha', { size: 4 });
    expect(after['spec']).toEqual({ size: 4, color: 'blue' });
    expect(after.metadata.labels).toEqual({ other: 'b' });
    expect((after.metadata.managedFields as { manager: string; operation: string }[]).map((m) => `${m.manager}:${m.operation}`).sort()).toEqual(['alpha:Apply', 'beta:Apply']);
    const again = await ssa('alpha', { size: 4 });
    expect(again.metadata.resourceVersion).toBe(after.metadata.resourceVersion);
    const missing = await raw(sim.url, sim.adminToken, 'PATCH', `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}/w-own`, widget('w-own', ns, { size: 5 }), {
      'Content-Type': 'application/apply-patch+yaml',
    });
    expect(missing.status).toBe(400);
  });

  it('treats strategic merge patch as merge patch for custom resources', async () => {
    await custom.createNamespacedCustomObject({ ...params, body: widget('w-smp', ns, { size: 2 }) });
    const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
    const w = (await custom.patchNamespacedCustomObject({ ...params, name: 'w-smp', body: { spec: { color: 'red' } } }, smp)) as KObject;
    expect(w['spec']).toEqual({ size: 2, color: 'red' });
  });

  it('keeps a deleted object with finalizers until the last finalizer goes', async () => {
    await custom.createNamespacedCustomObject({ ...params, body: widget('w-fin', ns, { size: 2 }, { finalizers: ['a.example.com/x', 'b.example.com/y'] }) });
    const marked = (await custom.deleteNamespacedCustomObject({ ...params, name: 'w-fin', propagationPolicy: 'Foreground' })) as KObject;
    expect(marked.metadata.deletionTimestamp).toBeDefined();
    const still = (await custom.getNamespacedCustomObject({ ...params, name: 'w-fin' })) as KObject;
    expect(still.metadata.deletionTimestamp).toBe(marked.metadata.deletionTimestamp);
    await custom.patchNamespacedCustomObject({ ...params, name: 'w-fin', body: [{ op: 'remove', path: '/metadata/finalizers/0' }] });
    expect(((await custom.getNamespacedCustomObject({ ...params, name: 'w-fin' })) as KObject).metadata.finalizers).toEqual(['b.example.com/y']);
    await custom.patchNamespacedCustomObject({ ...params, name: 'w-fin', body: { metadata: { finalizers: null } } }, merge);
    const { code } = await failure(custom.getNamespacedCustomObject({ ...params, name: 'w-fin' }));
    expect(code).toBe(404);
  });

  it('refuses an unknown propagationPolicy and deletes without finalizers at once', async () => {
    await custom.createNamespacedCustomObject({ ...params, body: widget('w-del', ns, { size: 2 }) });
    const bad = await raw(sim.url, sim.adminToken, 'DELETE', `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}/w-del`, { propagationPolicy: 'Sideways' });
    expect(bad.status).toBe(400);
    await custom.deleteNamespacedCustomObject({ ...params, name: 'w-del', propagationPolicy: 'Background' });
    expect((await failure(custom.getNamespacedCustomObject({ ...params, name: 'w-del' }))).code).toBe(404);
  });

  it('answers Table with the printer columns for as=Table', async () => {
    await custom.createNamespacedCustomObject({ ...params, namespace: 'default', body: widget('w-table', 'default', { size: 4, color: 'red' }) });
    const res = await raw(sim.url, sim.adminToken, 'GET', `/apis/${GROUP}/${VERSION}/namespaces/default/${PLURAL}`, undefined, {
      Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    });
    const table = res.json() as { kind: string; columnDefinitions: { name: string }[]; rows: { cells: unknown[]; object: KObject }[] };
    expect(table.kind).toBe('Table');
    expect(table.columnDefinitions.map((c) => c.name)).toEqual(['Name', 'Size', 'Color', 'Ready']);
    expect(table.rows[0]?.cells.slice(0, 3)).toEqual(['w-table', 4, 'red']);
    expect(table.rows[0]?.object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'w-table' } });
  });

  it('stops serving the resource when the CRD is deleted', async () => {
    const crd = widgetCrd();
    crd.metadata.name = 'gizmos.sim.example.com';
    (crd['spec'] as { names: Record<string, unknown> }).names = { plural: 'gizmos', kind: 'Gizmo' };
    sim.store.create('customresourcedefinitions.apiextensions.k8s.io', crd);
    expect((await raw(sim.url, sim.adminToken, 'GET', `/apis/${GROUP}/${VERSION}/namespaces/${ns}/gizmos`)).status).toBe(200);
    sim.store.create('gizmos.sim.example.com', { apiVersion: `${GROUP}/${VERSION}`, kind: 'Gizmo', metadata: { name: 'g1', namespace: ns }, spec: { size: 1 } });
    const events: string[] = [];
    let ended: unknown = 'open';
    await new Watch(sim.kubeConfig()).watch(`/apis/${GROUP}/${VERSION}/namespaces/${ns}/gizmos`, { resourceVersion: sim.store.resourceVersion }, (type) => events.push(type), (err: unknown) => {
      ended = err;
    });
    await eventually(() => (sim.faults.openWatches() > 0 ? true : undefined));
    sim.store.delete('customresourcedefinitions.apiextensions.k8s.io', undefined, 'gizmos.sim.example.com');
    // Its objects go with it, and watches on it end.
    await eventually(() => (ended === null ? true : undefined));
    expect(events).toEqual(['DELETED']);
    const gone = await raw(sim.url, sim.adminToken, 'GET', `/apis/${GROUP}/${VERSION}/namespaces/${ns}/gizmos`);
    expect(gone.status).toBe(404);
    const discovery = (await raw(sim.url, sim.adminToken, 'GET', `/apis/${GROUP}/${VERSION}`)).json() as { resources: { name: string }[] };
    expect(discovery.resources.map((r) => r.name)).not.toContain('gizmos');
  });
});

describe('namespace deletion', () => {
  it('keeps a namespace Terminating while an object in it waits on a finalizer, refusing new content meanwhile', async () => {
    await core.createNamespace({ body: { metadata: { name: 'ending' } } });
    await core.createNamespacedSecret({ namespace: 'ending', body: { metadata: { name: 'plain' } } });
    await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'ending', plural: PLURAL, body: widget('held', 'ending', { size: 1 }, { finalizers: ['sim.example.com/hold'] }) });
    await core.deleteNamespace({ name: 'ending' });
    const ns = await core.readNamespace({ name: 'ending' });
    expect(ns.status?.phase).toBe('Terminating');
    expect(ns.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    expect(sim.store.get('secrets', 'ending', 'plain')).toBeUndefined();
    expect(sim.store.get(WIDGETS, 'ending', 'held')?.metadata.deletionTimestamp).toBeDefined();
    const refused = await failure(core.createNamespacedSecret({ namespace: 'ending', body: { metadata: { name: 'late' } } }));
    expect(refused.code).toBe(403);
    expect(refused.status['message']).toBe('secrets "late" is forbidden: unable to create new content in namespace ending because it is being terminated');
    sim.store.patch(WIDGETS, 'ending', 'held', { metadata: { finalizers: null } });
    expect((await failure(core.readNamespace({ name: 'ending' }))).code).toBe(404);
  });
});

describe('built-ins', () => {
  it('stores leases through CoordinationV1Api with MicroTime fields', async () => {
    const leases = sim.kubeConfig().makeApiClient(CoordinationV1Api);
    const now = new Date();
    const l = await leases.createNamespacedLease({ namespace: 'apps', body: { metadata: { name: 'leader' }, spec: { holderIdentity: 'me', leaseDurationSeconds: 15, renewTime: now } } });
    expect(l.spec?.holderIdentity).toBe('me');
    const replaced = await leases.replaceNamespacedLease({ name: 'leader', namespace: 'apps', body: { ...l, spec: { ...l.spec, holderIdentity: 'you' } } });
    expect(replaced.spec?.holderIdentity).toBe('you');
    expect((await failure(leases.replaceNamespacedLease({ name: 'leader', namespace: 'apps', body: l }))).code).toBe(409);
  });

  it('applies strategic merge patches to built-ins with lists merged by name', async () => {
    await core.createNamespacedServiceAccount({ namespace: 'apps', body: { metadata: { name: 'smp' }, secrets: [{ name: 'a' }, { name: 'b' }] } });
    const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
    const sa = await core.patchNamespacedServiceAccount({ name: 'smp', namespace: 'apps', body: { secrets: [{ name: 'c' }, { name: 'a', $patch: 'delete' }] } }, smp);
    expect(sa.secrets?.map((s) => s.name)).toEqual(['b', 'c']);
  });

  it('answers Success Status on deleting a built-in and removes a namespace with its content', async () => {
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedSecret({ namespace: 'doomed', body: { metadata: { name: 'in-doomed' } } });
    const st = await raw(sim.url, sim.adminToken, 'DELETE', '/api/v1/namespaces/doomed/secrets/in-doomed');
    expect(st.json()).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'in-doomed', kind: 'secrets' } });
    await core.createNamespacedSecret({ namespace: 'doomed', body: { metadata: { name: 'again' } } });
    await core.deleteNamespace({ name: 'doomed' });
    expect(sim.store.get('secrets', 'doomed', 'again')).toBeUndefined();
    expect((await failure(core.readNamespace({ name: 'doomed' }))).code).toBe(404);
  });
});
