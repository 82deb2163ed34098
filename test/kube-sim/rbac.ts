/**
 * Kubernetes RBAC evaluation, as kube-apiserver's RBAC authorizer decides: walk the ClusterRoleBindings (cluster
 * wide), then the RoleBindings of the request's namespace, and allow on the first rule that covers the request.
 * There is no deny rule; a request nothing allows is denied. Aggregation rules are not evaluated: a ClusterRole's
 * stored `rules` are what it grants.
 */
import type { KObject } from './types.js';

export interface UserInfo {
  username: string;
  groups: string[];
}

export interface RequestAttributes {
  user: UserInfo;
  verb: string;
  apiGroup: string;
  /** Empty for a non-resource request (then `path` is what is authorized). */
  resource: string;
  subresource?: string;
  name?: string;
  namespace?: string;
  path?: string;
}

export interface RbacState {
  roles: KObject[];
  clusterRoles: KObject[];
  roleBindings: KObject[];
  clusterRoleBindings: KObject[];
}

export interface Decision {
  allowed: boolean;
  /** On allow: `RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to User "z"`. On deny: usually empty. */
  reason: string;
}

/** The group whose members kube-apiserver lets through before RBAC is consulted. */
export const SYSTEM_MASTERS = 'system:masters';

interface PolicyRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames: string[];
  nonResourceURLs: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace: string;
}

interface RoleRef {
  kind: string;
  name: string;
}

export function authorize(attrs: RequestAttributes, state: RbacState): Decision {
  if (attrs.user.groups.includes(SYSTEM_MASTERS)) return { allowed: true, reason: '' };
  const errors: string[] = [];
  const roles = indexByKey(state.roles, (o) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`);
  const clusterRoles = indexByKey(state.clusterRoles, (o) => o.metadata.name ?? '');

  const rulesOf = (ref: RoleRef, bindingNamespace: string): PolicyRule[] | undefined => {
    if (ref.kind === 'ClusterRole') {
      const role = clusterRoles.get(ref.name);
      if (!role) errors.push(`clusterrole.rbac.authorization.k8s.io "${ref.name}" not found`);
      return role ? readRules(role) : undefined;
    }
    if (ref.kind === 'Role') {
      const role = roles.get(`${bindingNamespace}/${ref.name}`);
      if (!role) errors.push(`role.rbac.authorization.k8s.io "${ref.name}" not found`);
      return role ? readRules(role) : undefined;
    }
    errors.push(`unsupported role reference kind: "${ref.kind}"`);
    return undefined;
  };

  for (const binding of state.clusterRoleBindings) {
    const subject = readSubjects(binding).find((s) => appliesTo(attrs.user, s, ''));
    if (!subject) continue;
    const ref = readRoleRef(binding);
    const rules = rulesOf(ref, '');
    if (rules?.some((r) => ruleAllows(attrs, r))) {
      const by = `ClusterRoleBinding "${binding.metadata.name ?? ''}" of ${ref.kind} "${ref.name}" to ${describeSubject(subject, '')}`;
      return { allowed: true, reason: `RBAC: allowed by ${by}` };
    }
  }

  const namespace = attrs.namespace ?? '';
  if (namespace !== '') {
    for (const binding of state.roleBindings) {
      if ((binding.metadata.namespace ?? '') !== namespace) continue;
      const subject = readSubjects(binding).find((s) => appliesTo(attrs.user, s, namespace));
      if (!subject) continue;
      const ref = readRoleRef(binding);
      const rules = rulesOf(ref, namespace);
      if (rules?.some((r) => ruleAllows(attrs, r))) {
        const name = `${binding.metadata.name ?? ''}/${namespace}`;
        const by = `RoleBinding "${name}" of ${ref.kind} "${ref.name}" to ${describeSubject(subject, namespace)}`;
        return { allowed: true, reason: `RBAC: allowed by ${by}` };
      }
    }
  }

  return { allowed: false, reason: errors.length === 0 ? '' : `RBAC: ${aggregate(errors)}` };
}

/** The user a service account's token authenticates as, with the groups the apiserver gives it. */
export function serviceAccountUser(namespace: string, name: string): UserInfo {
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}

/**
 * The text of a 403 as kube-apiserver writes it (the Status message is `<resource> "<name>" is forbidden: ` + this):
 * `User "u" cannot get resource "secrets" in API group "" in the namespace "ns"`, with `: <reason>` when there is one.
 */
export function forbiddenMessage(attrs: RequestAttributes, reason = ''): string {
  let msg: string;
  if (attrs.resource === '') {
    msg = `User "${attrs.user.username}" cannot ${attrs.verb} path "${attrs.path ?? ''}"`;
  } else {
    const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    const scope = attrs.namespace ? `in the namespace "${attrs.namespace}"` : 'at the cluster scope';
    msg = `User "${attrs.user.username}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.apiGroup}" ${scope}`;
  }
  return reason ? `${msg}: ${reason}` : msg;
}

// ---- matching ----------------------------------------------------------------------------------------------

function ruleAllows(attrs: RequestAttributes, rule: PolicyRule): boolean {
  if (!matchesAny(rule.verbs, attrs.verb)) return false;
  if (attrs.resource === '') return nonResourceURLMatches(rule.nonResourceURLs, attrs.path ?? '');
  const combined = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  return (
    matchesAny(rule.apiGroups, attrs.apiGroup) &&
    resourceMatches(rule.resources, combined, attrs.subresource ?? '') &&
    resourceNameMatches(rule.resourceNames, attrs.name ?? '')
  );
}

function matchesAny(list: string[], wanted: string): boolean {
  return list.some((v) => v === '*' || v === wanted);
}

/**
 * `*` covers every resource and subresource; otherwise `resource/subresource` must be named exactly, or as
 * `*\/subresource` for that subresource of any resource. `secrets` alone never grants `secrets/status`.
 */
function resourceMatches(resources: string[], combined: string, subresource: string): boolean {
  return resources.some((r) => r === '*' || r === combined || (subresource !== '' && r === `*/${subresource}`));
}

/** resourceNames restricts only when set, and then a request without a name (list, watch, create) never matches. */
function resourceNameMatches(names: string[], name: string): boolean {
  return names.length === 0 || names.includes(name);
}

function nonResourceURLMatches(urls: string[], path: string): boolean {
  return urls.some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.replace(/\*+$/, ''))));
}

function appliesTo(user: UserInfo, subject: Subject, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return user.username === subject.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      // A RoleBinding may name a service account of its own namespace without saying so.
      const ns = subject.namespace || bindingNamespace;
      return ns !== '' && user.username === `system:serviceaccount:${ns}:${subject.name}`;
    }
    default:
      return false;
  }
}

function describeSubject(subject: Subject, bindingNamespace: string): string {
  if (subject.kind === 'ServiceAccount') {
    return `ServiceAccount "${subject.name}/${subject.namespace || bindingNamespace}"`;
  }
  return `${subject.kind} "${subject.name}"`;
}

function aggregate(errors: string[]): string {
  const unique = [...new Set(errors)];
  return unique.length === 1 ? (unique[0] ?? '') : `[${unique.join(', ')}]`;
}

// ---- reading stored objects --------------------------------------------------------------------------------

function indexByKey(objects: KObject[], key: (o: KObject) => string): Map<string, KObject> {
  return new Map(objects.map((o) => [key(o), o]));
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function readRules(role: KObject): PolicyRule[] {
  const rules = Array.isArray(role['rules']) ? (role['rules'] as unknown[]) : [];
  return rules.flatMap((r) => {
    if (typeof r !== 'object' || r === null) return [];
    const rule = r as Record<string, unknown>;
    return [
      {
        verbs: strings(rule['verbs']),
        apiGroups: strings(rule['apiGroups']),
        resources: strings(rule['resources']),
        resourceNames: strings(rule['resourceNames']),
        nonResourceURLs: strings(rule['nonResourceURLs']),
      },
    ];
  });
}

function readSubjects(binding: KObject): Subject[] {
  const subjects = Array.isArray(binding['subjects']) ? (binding['subjects'] as unknown[]) : [];
  return subjects.flatMap((s) => {
    if (typeof s !== 'object' || s === null) return [];
    const subject = s as Record<string, unknown>;
    return [{ kind: str(subject['kind']), name: str(subject['name']), namespace: str(subject['namespace']) }];
  });
}

function readRoleRef(binding: KObject): RoleRef {
  const ref = binding['roleRef'];
  if (typeof ref !== 'object' || ref === null) return { kind: '', name: '' };
  const r = ref as Record<string, unknown>;
  return { kind: str(r['kind']), name: str(r['name']) };
}
