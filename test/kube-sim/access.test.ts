/**
 * Authentication and authorization on the wire: tokens, service accounts, 401/403 shapes, RBAC from the
 * stored Roles and bindings (subresources, resourceNames, namespace scope), impersonation and
 * SelfSubjectAccessReview agreeing with the evaluation.
 */
import { ApiException, AuthorizationV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeSim, type KubeSim } from './index.js';
import { GROUP, PLURAL, raw, VERSION, widget, widgetCrd, WIDGETS } from './test-fixtures.js';

let sim: KubeSim;
let opToken: string;

beforeAll(async () => {
  sim = await startKubeSim();
  sim.store.create('customresourcedefinitions.apiextensions.k8s.io', widgetCrd());
  sim.store.create('namespaces', { metadata: { name: 'team' } });
  sim.store.create('namespaces', { metadata: { name: 'other' } });
  sim.store.create('secrets', { metadata: { name: 'watched', namespace: 'team' }, stringData: { k: 'v' } });
  sim.store.create('secrets', { metadata: { name: 'private', namespace: 'team' }, stringData: { k: 'v' } });
  sim.store.create(WIDGETS, widget('w', 'team', { size: 1 }));
  sim.store.create('roles.rbac.authorization.k8s.io', {
    metadata: { name: 'op', namespace: 'team' },
    rules: [
      { apiGroups: [GROUP], resources: [PLURAL], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ['patch'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['watched'] },
    ],
  });
  sim.store.create('rolebindings.rbac.authorization.k8s.io', {
    metadata: { name: 'op', namespace: 'team' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'op' },
    subjects: [{ kind: 'ServiceAccount', name: 'op', namespace: 'team' }],
  });
  opToken = sim.serviceAccountToken('team', 'op');
});

afterAll(async () => {
  await sim.close();
});

async function code(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

describe('authentication', () => {
  it('answers 401 Unauthorized without a token or with an unknown one', async () => {
    for (const token of [undefined, 'nope']) {
      const res = await raw(sim.url, token, 'GET', '/api/v1/namespaces');
      expect(res.status).toBe(401);
      expect(res.json()).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
    }
  });

  it('maps added tokens to users with system:authenticated', async () => {
    sim.addToken('alice-token', { username: 'alice', groups: ['devs'] });
    sim.store.create('clusterrolebindings.rbac.authorization.k8s.io', {
      metadata: { name: 'devs-view' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'ns-reader' },
      subjects: [{ kind: 'Group', name: 'devs', apiGroup: 'rbac.authorization.k8s.io' }],
    });
    sim.store.create('clusterroles.rbac.authorization.k8s.io', { metadata: { name: 'ns-reader' }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['list'] }] });
    expect((await raw(sim.url, 'alice-token', 'GET', '/api/v1/namespaces')).status).toBe(200);
    expect((await raw(sim.url, 'alice-token', 'GET', '/api/v1/namespaces/team')).status).toBe(403);
  });
});

describe('RBAC through client-node with a service account token', () => {
  it('allows what the Role grants and forbids the rest with a real-shaped 403', async () => {
    const kc = sim.kubeConfig(opToken, 'team');
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const params = { group: GROUP, version: VERSION, namespace: 'team', plural: PLURAL };
    expect(await code(custom.listNamespacedCustomObject(params))).toBe(200);
    expect(await code(custom.getNamespacedCustomObject({ ...params, name: 'w' }))).toBe(200);
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    expect(await code(custom.patchNamespacedCustomObjectStatus({ ...params, name: 'w', body: { status: { observed: 1 } } }, merge))).toBe(200);
    expect(await code(custom.patchNamespacedCustomObject({ ...params, name: 'w', body: { spec: { size: 2 } } }, merge))).toBe(403);
    expect(await code(custom.listNamespacedCustomObject({ ...params, namespace: 'other' }))).toBe(403);
    expect(await code(core.readNamespacedSecret({ name: 'watched', namespace: 'team' }))).toBe(200);
    expect(await code(core.readNamespacedSecret({ name: 'private', namespace: 'team' }))).toBe(403);
    expect(await code(core.listNamespacedSecret({ namespace: 'team' }))).toBe(403);

    const res = await raw(sim.url, opToken, 'GET', '/api/v1/namespaces/team/secrets/private');
    expect(res.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'secrets "private" is forbidden: User "system:serviceaccount:team:op" cannot get resource "secrets" in API group "" in the namespace "team"',
      reason: 'Forbidden',
      details: { name: 'private', kind: 'secrets' },
      code: 403,
    });
    const status = await raw(sim.url, opToken, 'PUT', `/apis/${GROUP}/${VERSION}/namespaces/team/${PLURAL}/w/status`, widget('w', 'team', { size: 1 }));
    expect(status.status).toBe(403);
    expect((status.json() as { message: string }).message).toContain('cannot update resource "widgets/status" in API group "sim.example.com" in the namespace "team"');
    const cluster = await raw(sim.url, opToken, 'GET', '/api/v1/namespaces');
    expect((cluster.json() as { message: string }).message).toBe('namespaces is forbidden: User "system:serviceaccount:team:op" cannot list resource "namespaces" in API group "" at the cluster scope');
  });

  it('lets an authenticated user reach discovery', async () => {
    expect((await raw(sim.url, opToken, 'GET', '/apis')).status).toBe(200);
    expect((await raw(sim.url, opToken, 'GET', '/openapi/v3')).status).toBe(200);
  });
});

describe('impersonation and SelfSubjectAccessReview', () => {
  async function review(token: string, attrs: Record<string, string>, headers: Record<string, string> = {}): Promise<boolean> {
    const res = await raw(sim.url, token, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attrs } }, headers);
    expect(res.status).toBe(201);
    return (res.json() as { status: { allowed: boolean } }).status.allowed;
  }

  it('answers reviews from the same evaluation as requests, for the caller', async () => {
    expect(await review(opToken, { namespace: 'team', verb: 'patch', group: GROUP, resource: PLURAL, subresource: 'status' })).toBe(true);
    expect(await review(opToken, { namespace: 'team', verb: 'update', group: GROUP, resource: PLURAL })).toBe(false);
    expect(await review(opToken, { namespace: 'team', verb: 'get', resource: 'secrets', name: 'watched' })).toBe(true);
    expect(await review(opToken, { namespace: 'team', verb: 'get', resource: 'secrets', name: 'private' })).toBe(false);
    expect(await review(sim.adminToken, { namespace: 'team', verb: 'delete', resource: 'secrets' })).toBe(true);
  });

  it('evaluates as the impersonated service account when the admin sends Impersonate-User', async () => {
    const as = { 'Impersonate-User': 'system:serviceaccount:team:op' };
    expect(await review(sim.adminToken, { namespace: 'team', verb: 'list', group: GROUP, resource: PLURAL }, as)).toBe(true);
    expect(await review(sim.adminToken, { namespace: 'team', verb: 'delete', resource: 'secrets' }, as)).toBe(false);
    expect((await raw(sim.url, sim.adminToken, 'GET', '/api/v1/namespaces/team/secrets', undefined, as)).status).toBe(403);
    expect((await raw(sim.url, sim.adminToken, 'GET', '/api/v1/namespaces/team/secrets/watched', undefined, as)).status).toBe(200);
  });

  it('honours Impersonate-Group and refuses impersonation to users without the impersonate verb', async () => {
    sim.store.create('clusterroles.rbac.authorization.k8s.io', { metadata: { name: 'secret-lister' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }] });
    sim.store.create('clusterrolebindings.rbac.authorization.k8s.io', {
      metadata: { name: 'auditors' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'secret-lister' },
      subjects: [{ kind: 'Group', name: 'auditors', apiGroup: 'rbac.authorization.k8s.io' }],
    });
    const asAuditor = { 'Impersonate-User': 'bob', 'Impersonate-Group': 'auditors' };
    expect((await raw(sim.url, sim.adminToken, 'GET', '/api/v1/namespaces/team/secrets', undefined, asAuditor)).status).toBe(200);
    expect((await raw(sim.url, sim.adminToken, 'GET', '/api/v1/namespaces/team/secrets', undefined, { 'Impersonate-User': 'bob' })).status).toBe(403);
    const denied = await raw(sim.url, opToken, 'GET', '/api/v1/namespaces/team/secrets', undefined, { 'Impersonate-User': 'system:admin' });
    expect(denied.status).toBe(403);
    expect((denied.json() as { message: string }).message).toContain('cannot impersonate resource "users"');
  });

  it('serves SelfSubjectAccessReview through AuthorizationV1Api', async () => {
    const api = sim.kubeConfig(opToken).makeApiClient(AuthorizationV1Api);
    const r = await api.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { namespace: 'team', verb: 'watch', group: GROUP, resource: PLURAL } } } });
    expect(r.status?.allowed).toBe(true);
  });
});
