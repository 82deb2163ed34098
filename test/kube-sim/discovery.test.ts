/** Discovery (legacy and aggregated) and OpenAPI v3 as kubectl reads them. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeSim, type KubeSim } from './index.js';
import { GROUP, PLURAL, raw, VERSION, widgetCrd } from './test-fixtures.js';

let sim: KubeSim;

beforeAll(async () => {
  sim = await startKubeSim();
  sim.store.create('customresourcedefinitions.apiextensions.k8s.io', widgetCrd());
});

afterAll(async () => {
  await sim.close();
});

const get = (path: string, accept?: string) => raw(sim.url, sim.adminToken, 'GET', path, undefined, accept ? { Accept: accept } : {});

describe('legacy discovery', () => {
  it('lists the core version, the groups and each group-version resource list', async () => {
    expect((await get('/api')).json()).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const groups = (await get('/apis')).json() as { kind: string; groups: { name: string; preferredVersion: { groupVersion: string } }[] };
    expect(groups.kind).toBe('APIGroupList');
    expect(groups.groups.map((g) => g.name)).toEqual(
      expect.arrayContaining(['events.k8s.io', 'coordination.k8s.io', 'rbac.authorization.k8s.io', 'authorization.k8s.io', 'apiextensions.k8s.io', GROUP]),
    );
    const core = (await get('/api/v1')).json() as { resources: { name: string }[] };
    expect(core.resources.map((r) => r.name)).toEqual(expect.arrayContaining(['namespaces', 'namespaces/status', 'secrets', 'serviceaccounts', 'events']));
    expect(core.resources.map((r) => r.name)).not.toContain('secrets/status');
    const rbac = (await get('/apis/rbac.authorization.k8s.io/v1')).json() as { groupVersion: string; resources: { name: string; namespaced: boolean }[] };
    expect(rbac.groupVersion).toBe('rbac.authorization.k8s.io/v1');
    expect(rbac.resources.find((r) => r.name === 'clusterroles')?.namespaced).toBe(false);
    expect((await get('/apis/nope.example.com/v1')).status).toBe(404);
  });

  it('answers aggregated discovery when asked for it, with its content type', async () => {
    const res = await get('/apis', 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json');
    expect(res.headers.get('content-type')).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const doc = res.json() as { kind: string; items: { metadata: { name: string }; versions: { version: string; resources: { resource: string; scope: string; subresources?: { subresource: string }[] }[] }[] }[] };
    expect(doc.kind).toBe('APIGroupDiscoveryList');
    const widgets = doc.items.find((i) => i.metadata.name === GROUP)?.versions[0]?.resources[0];
    expect(widgets).toMatchObject({ resource: PLURAL, scope: 'Namespaced', subresources: [{ subresource: 'status' }] });
    const core = (await get('/api', 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList')).json() as typeof doc;
    expect(core.items.map((i) => i.metadata.name)).toEqual(['']);
  });
});

describe('OpenAPI v3', () => {
  it('indexes every group-version and serves documents with a patch operation carrying the GVK and fieldValidation', async () => {
    const index = (await get('/openapi/v3')).json() as { paths: Record<string, { serverRelativeURL: string }> };
    expect(Object.keys(index.paths)).toEqual(expect.arrayContaining(['api/v1', `apis/${GROUP}/${VERSION}`, 'apis/apiextensions.k8s.io/v1']));
    const url = index.paths[`apis/${GROUP}/${VERSION}`]?.serverRelativeURL ?? '';
    expect(url).toMatch(new RegExp(`^/openapi/v3/apis/${GROUP}/${VERSION}\\?hash=[0-9A-F]+$`));
    const doc = (await get(url)).json() as { paths: Record<string, { patch?: { 'x-kubernetes-group-version-kind': unknown; parameters: { name: string }[] } }> };
    const item = doc.paths[`/apis/${GROUP}/${VERSION}/namespaces/{namespace}/${PLURAL}/{name}`];
    expect(item?.patch?.['x-kubernetes-group-version-kind']).toEqual({ group: GROUP, version: VERSION, kind: 'Widget' });
    expect(item?.patch?.parameters.map((p) => p.name)).toContain('fieldValidation');
    expect((await get('/openapi/v2')).status).toBe(404);
  });
});
