import { describe, expect, it } from 'vitest';
import { authorize, forbiddenMessage, serviceAccountUser, type RbacState, type RequestAttributes, type UserInfo } from './rbac.js';
import type { KObject } from './types.js';

const RBAC = 'rbac.authorization.k8s.io';

function role(namespace: string, name: string, rules: unknown[]): KObject {
  return { apiVersion: `${RBAC}/v1`, kind: 'Role', metadata: { name, namespace }, rules };
}
function clusterRole(name: string, rules: unknown[]): KObject {
  return { apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', metadata: { name }, rules };
}
function roleBinding(namespace: string, name: string, roleRef: { kind: string; name: string }, subjects: unknown[]): KObject {
  return { apiVersion: `${RBAC}/v1`, kind: 'RoleBinding', metadata: { name, namespace }, roleRef: { apiGroup: RBAC, ...roleRef }, subjects };
}
function clusterRoleBinding(name: string, roleRef: { kind: string; name: string }, subjects: unknown[]): KObject {
  return { apiVersion: `${RBAC}/v1`, kind: 'ClusterRoleBinding', metadata: { name }, roleRef: { apiGroup: RBAC, ...roleRef }, subjects };
}

const operator = serviceAccountUser('mixpeek-system', 'operator');
const alice: UserInfo = { username: 'alice', groups: ['system:authenticated'] };
const auditors: UserInfo = { username: 'bob', groups: ['auditors', 'system:authenticated'] };
const stranger: UserInfo = { username: 'mallory', groups: ['system:authenticated'] };

/** Roughly the operator's deploy/ RBAC, plus a few bindings that exist only to be tested against. */
const state: RbacState = {
  roles: [
    role('apps', 'secret-reader', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }]),
    role('apps', 'one-secret', [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['api-key'], verbs: ['get', 'list', 'watch', 'update'] }]),
    role('other', 'secret-reader', [{ apiGroups: [''], resources: ['secrets'], verbs: ['*'] }]),
  ],
  clusterRoles: [
    clusterRole('mixpeek-operator', [
      { apiGroups: ['mixpeek.com'], resources: ['mixpeeksecrets'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['mixpeek.com'], resources: ['mixpeeksecrets/status'], verbs: ['update', 'patch'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['*'] },
      { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    ]),
    clusterRole('status-everywhere', [{ apiGroups: ['*'], resources: ['*/status'], verbs: ['get'] }]),
    clusterRole('everything', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]),
    clusterRole('config-reader', [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }]),
    clusterRole('metrics', [{ nonResourceURLs: ['/metrics', '/healthz/*'], verbs: ['get'] }]),
  ],
  roleBindings: [
    roleBinding('apps', 'read-secrets', { kind: 'Role', name: 'secret-reader' }, [
      { kind: 'ServiceAccount', name: 'operator', namespace: 'mixpeek-system' },
    ]),
    roleBinding('apps', 'only-api-key', { kind: 'Role', name: 'one-secret' }, [{ kind: 'User', name: 'alice', apiGroup: RBAC }]),
    // A ClusterRole bound by a RoleBinding grants only inside the binding's namespace.
    roleBinding('apps', 'configs', { kind: 'ClusterRole', name: 'config-reader' }, [{ kind: 'Group', name: 'auditors', apiGroup: RBAC }]),
    // Service account named without a namespace: the binding's own namespace is meant.
    roleBinding('apps', 'local-sa', { kind: 'ClusterRole', name: 'everything' }, [{ kind: 'ServiceAccount', name: 'builder' }]),
    // A RoleBinding may not point at a Role of another namespace: it resolves in its own and finds none.
    roleBinding('third', 'dangling', { kind: 'Role', name: 'secret-reader' }, [{ kind: 'User', name: 'alice', apiGroup: RBAC }]),
  ],
  clusterRoleBindings: [
    clusterRoleBinding('mixpeek-operator', { kind: 'ClusterRole', name: 'mixpeek-operator' }, [
      { kind: 'ServiceAccount', name: 'operator', namespace: 'mixpeek-system' },
    ]),
    clusterRoleBinding('auditors-status', { kind: 'ClusterRole', name: 'status-everywhere' }, [{ kind: 'Group', name: 'auditors', apiGroup: RBAC }]),
    clusterRoleBinding('metrics', { kind: 'ClusterRole', name: 'metrics' }, [{ kind: 'User', name: 'alice', apiGroup: RBAC }]),
    // No namespace on a ServiceAccount subject of a ClusterRoleBinding: it matches nobody.
    clusterRoleBinding('sa-without-ns', { kind: 'ClusterRole', name: 'everything' }, [{ kind: 'ServiceAccount', name: 'operator' }]),
  ],
};

type Case = [name: string, attrs: Omit<RequestAttributes, 'user'> & { user?: UserInfo }, allowed: boolean];

const op = (a: Omit<RequestAttributes, 'user'>): RequestAttributes => ({ user: operator, ...a });

const cases: Case[] = [
  ['ClusterRoleBinding grants in any namespace', op({ verb: 'list', apiGroup: 'mixpeek.com', resource: 'mixpeeksecrets', namespace: 'x' }), true],
  ['ClusterRoleBinding grants cluster-wide lists', op({ verb: 'watch', apiGroup: 'mixpeek.com', resource: 'mixpeeksecrets' }), true],
  ['verb not in the rule', op({ verb: 'delete', apiGroup: 'mixpeek.com', resource: 'mixpeeksecrets', namespace: 'x', name: 'a' }), false],
  ['apiGroup must match: core "" is not mixpeek.com', op({ verb: 'get', apiGroup: '', resource: 'mixpeeksecrets', namespace: 'x', name: 'a' }), false],
  ['"mixpeeksecrets" does not grant the status subresource', op({ verb: 'get', apiGroup: 'mixpeek.com', resource: 'mixpeeksecrets', subresource: 'status', namespace: 'x', name: 'a' }), false],
  ['"mixpeeksecrets/status" grants the status subresource', op({ verb: 'patch', apiGroup: 'mixpeek.com', resource: 'mixpeeksecrets', subresource: 'status', namespace: 'x', name: 'a' }), true],
  ['"mixpeeksecrets/status" does not grant the main resource', op({ verb: 'patch', apiGroup: 'mixpeek.com', resource: 'mixpeeksecrets', namespace: 'x', name: 'a' }), false],
  ['verb "*" covers every verb', op({ verb: 'deletecollection', apiGroup: 'coordination.k8s.io', resource: 'leases', namespace: 'mixpeek-system' }), true],
  ['a rule lists several apiGroups', op({ verb: 'create', apiGroup: 'events.k8s.io', resource: 'events', namespace: 'x' }), true],
  ['RoleBinding grants in its namespace', op({ verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'apps', name: 's' }), true],
  ['RoleBinding in ns A never grants in ns B', op({ verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'other', name: 's' }), false],
  ['RoleBinding never grants cluster-wide (all-namespace list)', op({ verb: 'list', apiGroup: '', resource: 'secrets' }), false],
  ['Role grants only what it lists', op({ verb: 'update', apiGroup: '', resource: 'secrets', namespace: 'apps', name: 's' }), false],
  ['resourceNames allow the named object', { user: alice, verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'apps', name: 'api-key' }, true],
  ['resourceNames refuse another name', { user: alice, verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'apps', name: 'db-password' }, false],
  ['resourceNames refuse a list without a name', { user: alice, verb: 'list', apiGroup: '', resource: 'secrets', namespace: 'apps' }, false],
  ['resourceNames allow a list narrowed to that name', { user: alice, verb: 'list', apiGroup: '', resource: 'secrets', namespace: 'apps', name: 'api-key' }, true],
  ['resourceNames refuse a create (no name known)', { user: alice, verb: 'create', apiGroup: '', resource: 'secrets', namespace: 'apps' }, false],
  ['ClusterRole via RoleBinding grants in the binding namespace', { user: auditors, verb: 'get', apiGroup: '', resource: 'configmaps', namespace: 'apps', name: 'c' }, true],
  ['ClusterRole via RoleBinding grants nowhere else', { user: auditors, verb: 'get', apiGroup: '', resource: 'configmaps', namespace: 'other', name: 'c' }, false],
  ['ClusterRole via RoleBinding grants nothing cluster-scoped', { user: auditors, verb: 'get', apiGroup: '', resource: 'configmaps', name: 'c' }, false],
  ['Group subject matches a member', { user: auditors, verb: 'get', apiGroup: 'apps', resource: 'deployments', subresource: 'status', namespace: 'x', name: 'd' }, true],
  ['"*/status" does not grant the main resource', { user: auditors, verb: 'get', apiGroup: 'apps', resource: 'deployments', namespace: 'x', name: 'd' }, false],
  ['"*/status" does not grant another subresource', { user: auditors, verb: 'get', apiGroup: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'x', name: 'd' }, false],
  ['Group subject does not match a non-member', { user: stranger, verb: 'get', apiGroup: 'apps', resource: 'deployments', subresource: 'status', namespace: 'x', name: 'd' }, false],
  ['ServiceAccount subject without namespace takes the RoleBinding namespace', { user: serviceAccountUser('apps', 'builder'), verb: 'delete', apiGroup: '', resource: 'secrets', namespace: 'apps', name: 's' }, true],
  ['...and does not match the same name in another namespace', { user: serviceAccountUser('ci', 'builder'), verb: 'delete', apiGroup: '', resource: 'secrets', namespace: 'apps', name: 's' }, false],
  ['"*" resource covers subresources', { user: serviceAccountUser('apps', 'builder'), verb: 'update', apiGroup: 'mixpeek.com', resource: 'mixpeeksecrets', subresource: 'status', namespace: 'apps', name: 'm' }, true],
  ['ServiceAccount subject of a ClusterRoleBinding needs a namespace', op({ verb: 'delete', apiGroup: '', resource: 'namespaces', name: 'x' }), false],
  ['User subject matches by name only', { user: { username: 'alice', groups: [] }, verb: 'get', apiGroup: '', resource: '', path: '/metrics' }, true],
  ['nonResourceURL exact', { user: alice, verb: 'get', apiGroup: '', resource: '', path: '/metrics' }, true],
  ['nonResourceURL prefix with trailing *', { user: alice, verb: 'get', apiGroup: '', resource: '', path: '/healthz/etcd' }, true],
  ['nonResourceURL is not a prefix match without *', { user: alice, verb: 'get', apiGroup: '', resource: '', path: '/metrics/extra' }, false],
  ['nonResourceURL verb must match', { user: alice, verb: 'post', apiGroup: '', resource: '', path: '/metrics' }, false],
  ['resource rules never grant non-resource paths', op({ verb: 'get', apiGroup: '', resource: '', path: '/metrics' }), false],
  ['system:masters is let through', { user: { username: 'admin', groups: ['system:masters'] }, verb: 'delete', apiGroup: '', resource: 'nodes', name: 'n' }, true],
];

describe('authorize', () => {
  it.each(cases)('%s', (_name, attrs, allowed) => {
    const decision = authorize({ user: stranger, ...attrs }, state);
    expect(decision.allowed).toBe(allowed);
  });

  it('names the ClusterRoleBinding, role and subject that allowed', () => {
    expect(authorize(op({ verb: 'list', apiGroup: 'mixpeek.com', resource: 'mixpeeksecrets' }), state).reason).toBe(
      'RBAC: allowed by ClusterRoleBinding "mixpeek-operator" of ClusterRole "mixpeek-operator" to ServiceAccount "operator/mixpeek-system"',
    );
  });

  it('names a RoleBinding as name/namespace', () => {
    expect(authorize({ user: alice, verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'apps', name: 'api-key' }, state).reason).toBe(
      'RBAC: allowed by RoleBinding "only-api-key/apps" of Role "one-secret" to User "alice"',
    );
  });

  it('denies with no reason when nothing applies', () => {
    expect(authorize({ user: stranger, verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'apps', name: 's' }, state)).toEqual({
      allowed: false,
      reason: '',
    });
  });

  it('reports a binding whose role is missing, as the apiserver does', () => {
    const decision = authorize({ user: alice, verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'third', name: 's' }, state);
    expect(decision).toEqual({ allowed: false, reason: 'RBAC: role.rbac.authorization.k8s.io "secret-reader" not found' });
  });

  it('a role created later takes effect on the next evaluation (no caching)', () => {
    const attrs: RequestAttributes = { user: alice, verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'third', name: 's' };
    const later: RbacState = { ...state, roles: [...state.roles, role('third', 'secret-reader', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }])] };
    expect(authorize(attrs, later).allowed).toBe(true);
  });

  it('ignores bindings with no subjects and roles with no rules', () => {
    const empty: RbacState = {
      roles: [],
      clusterRoles: [clusterRole('nothing', [])],
      roleBindings: [],
      clusterRoleBindings: [
        { apiVersion: `${RBAC}/v1`, kind: 'ClusterRoleBinding', metadata: { name: 'x' }, roleRef: { kind: 'ClusterRole', name: 'everything' } },
        clusterRoleBinding('y', { kind: 'ClusterRole', name: 'nothing' }, [{ kind: 'User', name: 'alice' }]),
      ],
    };
    expect(authorize({ user: alice, verb: 'get', apiGroup: '', resource: 'pods', namespace: 'a', name: 'p' }, empty).allowed).toBe(false);
  });
});

describe('serviceAccountUser', () => {
  it('has the username and groups of a service account token', () => {
    expect(serviceAccountUser('ns', 'sa')).toEqual({
      username: 'system:serviceaccount:ns:sa',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:ns', 'system:authenticated'],
    });
  });
});

describe('forbiddenMessage', () => {
  const user = serviceAccountUser('ns', 'sa');
  it.each<[RequestAttributes, string, string]>([
    [
      { user, verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'apps', name: 's' },
      '',
      'User "system:serviceaccount:ns:sa" cannot get resource "secrets" in API group "" in the namespace "apps"',
    ],
    [
      { user, verb: 'patch', apiGroup: 'mixpeek.com', resource: 'mixpeeksecrets', subresource: 'status', namespace: 'apps', name: 'm' },
      '',
      'User "system:serviceaccount:ns:sa" cannot patch resource "mixpeeksecrets/status" in API group "mixpeek.com" in the namespace "apps"',
    ],
    [
      { user, verb: 'list', apiGroup: 'mixpeek.com', resource: 'mixpeeksecrets' },
      'RBAC: role.rbac.authorization.k8s.io "x" not found',
      'User "system:serviceaccount:ns:sa" cannot list resource "mixpeeksecrets" in API group "mixpeek.com" at the cluster scope: RBAC: role.rbac.authorization.k8s.io "x" not found',
    ],
    [{ user, verb: 'get', apiGroup: '', resource: '', path: '/metrics' }, '', 'User "system:serviceaccount:ns:sa" cannot get path "/metrics"'],
  ])('%#', (attrs, reason, want) => {
    expect(forbiddenMessage(attrs, reason)).toBe(want);
  });
});
