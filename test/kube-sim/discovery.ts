/** Discovery documents: legacy (/api, /apis, APIResourceList) and aggregated (apidiscovery.k8s.io/v2). */
import { createHash } from 'node:crypto';
import type { Registry, ResourceType } from './registry.js';

const STATUS_VERBS = ['get', 'patch', 'update'];

function storageVersionHash(rt: ResourceType, version: string): string {
  return createHash('sha256').update(`${rt.group}/${version}/${rt.kind}`).digest('base64').slice(0, 11);
}

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(name: string, versions: string[]): object {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(registry: Registry): object {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...registry.groups()].map(([g, vs]) => apiGroup(g, vs)),
  };
}

export function apiGroupDoc(registry: Registry, group: string): object | undefined {
  const versions = registry.groups().get(group);
  return versions ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group, versions) } : undefined;
}

export function apiResourceList(registry: Registry, group: string, version: string): object | undefined {
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  const resources: object[] = [];
  for (const rt of types) {
    const entry: Record<string, unknown> = {
      name: rt.plural,
      singularName: rt.singular,
      namespaced: rt.namespaced,
      kind: rt.kind,
      verbs: rt.verbs,
      storageVersionHash: storageVersionHash(rt, version),
    };
    if (rt.shortNames.length > 0) entry['shortNames'] = rt.shortNames;
    if (rt.categories.length > 0) entry['categories'] = rt.categories;
    resources.push(entry);
    if (rt.hasStatus) resources.push({ name: `${rt.plural}/status`, singularName: '', namespaced: rt.namespaced, kind: rt.kind, verbs: STATUS_VERBS });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

function discoveryResource(rt: ResourceType, version: string): object {
  const responseKind = { group: rt.group, version, kind: rt.kind };
  const entry: Record<string, unknown> = {
    resource: rt.plural,
    responseKind,
    scope: rt.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: rt.singular,
    verbs: rt.verbs,
  };
  if (rt.shortNames.length > 0) entry['shortNames'] = rt.shortNames;
  if (rt.categories.length > 0) entry['categories'] = rt.categories;
  if (rt.hasStatus) entry['subresources'] = [{ subresource: 'status', responseKind, verbs: STATUS_VERBS }];
  return entry;
}

/** `/api` (core only) or `/apis` (every group) as an APIGroupDiscoveryList. */
export function aggregatedDiscovery(registry: Registry, core: boolean): object {
  const groups = core ? new Map([['', ['v1']]]) : registry.groups();
  const items = [...groups].map(([group, versions]) => ({
    metadata: { name: group, creationTimestamp: null },
    versions: versions.map((version) => ({
      version,
      resources: registry.inGroupVersion(group, version).map((rt) => discoveryResource(rt, version)),
      freshness: 'Current',
    })),
  }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
