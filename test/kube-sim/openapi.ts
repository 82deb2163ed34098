/**
 * OpenAPI v3 just deep enough for kubectl's default validation: an index of group-versions, and per
 * group-version a document whose item paths carry a `patch` operation with the GVK and the
 * `fieldValidation` parameter, so kubectl sends `fieldValidation=Strict` and leaves checking to us.
 */
import { createHash } from 'node:crypto';
import type { Registry } from './registry.js';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function allGroupVersions(registry: Registry): [string, string][] {
  const out: [string, string][] = [['', 'v1']];
  for (const [g, vs] of registry.groups()) for (const v of vs) out.push([g, v]);
  return out;
}

function withTypeMeta(schema: Record<string, unknown>, gvk: { group: string; version: string; kind: string }): Record<string, unknown> {
  const properties = (schema['properties'] ?? {}) as Record<string, unknown>;
  return {
    ...schema,
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
      kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
      metadata: { type: 'object', description: 'Standard object metadata.' },
      ...properties,
    },
    'x-kubernetes-group-version-kind': [gvk],
  };
}

export function openApiDocument(registry: Registry, group: string, version: string): object | undefined {
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  const base = `/${gvPath(group, version)}`;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const rt of types) {
    const gvk = { group: rt.group, version, kind: rt.kind };
    const schemaName = `${rt.group ? rt.group.split('.').reverse().join('.') : 'io.k8s.api.core'}.${version}.${rt.kind}`;
    const operation = (action: string): object => ({
      operationId: `${action}${rt.kind}`,
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
      parameters: [
        { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
        { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
        { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
      ],
      responses: { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName}` } } } } },
    });
    const collection = rt.namespaced ? `${base}/namespaces/{namespace}/${rt.plural}` : `${base}/${rt.plural}`;
    const item = `${collection}/{name}`;
    paths[collection] = { get: operation('list'), post: operation('post') };
    paths[item] = { get: operation('get'), put: operation('put'), patch: operation('patch'), delete: operation('delete') };
    if (rt.hasStatus) paths[`${item}/status`] = { get: operation('get'), put: operation('put'), patch: operation('patch') };
    const crdSchema = rt.schemas[version];
    // A CRD's own schema makes `kubectl explain` work; built-ins get an open object.
    schemas[schemaName] =
      typeof crdSchema === 'object' && crdSchema !== null
        ? withTypeMeta(crdSchema as Record<string, unknown>, gvk)
        : { type: 'object', 'x-kubernetes-group-version-kind': [gvk], 'x-kubernetes-preserve-unknown-fields': true };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas },
  };
}

export function openApiIndex(registry: Registry): object {
  const paths: Record<string, unknown> = {};
  for (const [g, v] of allGroupVersions(registry)) {
    const doc = openApiDocument(registry, g, v);
    if (!doc) continue;
    const hash = createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 64).toUpperCase();
    paths[gvPath(g, v)] = { serverRelativeURL: `/openapi/v3/${gvPath(g, v)}?hash=${hash}` };
  }
  return { paths };
}
