/**
 * The resource types the simulator serves: the fixed built-ins plus whatever the stored CRDs declare.
 * Objects are stored per group/resource; a CRD serving several versions shares one store.
 */
import { AGE_COLUMN, type PrinterColumn } from './table.js';
import type { KObject } from './types.js';

export const STANDARD_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export interface ResourceType {
  group: string;
  /** Served versions; the first is the preferred one. */
  versions: string[];
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Has a `/status` subresource: the main endpoint ignores status, `/status` ignores everything else. */
  hasStatus: boolean;
  /** metadata.generation is kept (custom resources and CRDs). */
  tracksGeneration: boolean;
  /** Custom resource: served from a CRD, validated against its schema. */
  custom: boolean;
  printerColumns: Record<string, PrinterColumn[]>;
  schemas: Record<string, unknown>;
}

export function resourceKey(group: string, plural: string): string {
  return group ? `${plural}.${group}` : plural;
}

export function keyOf(rt: ResourceType): string {
  return resourceKey(rt.group, rt.plural);
}

function builtin(
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<ResourceType> = {},
): ResourceType {
  return {
    group,
    versions: [version],
    plural,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced,
    shortNames: [],
    categories: [],
    verbs: STANDARD_VERBS,
    hasStatus: false,
    tracksGeneration: false,
    custom: false,
    printerColumns: {},
    schemas: {},
    ...extra,
  };
}

const BUILTINS: ResourceType[] = [
  builtin('', 'v1', 'namespaces', 'Namespace', false, {
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    hasStatus: true,
  }),
  builtin('', 'v1', 'secrets', 'Secret', true, {
    printerColumns: { v1: [{ name: 'Type', type: 'string', jsonPath: '.type' }, AGE_COLUMN] },
  }),
  builtin('', 'v1', 'serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
  builtin('', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
  // Stored only (no controllers behind them), so `kubectl apply -k deploy/base` can be checked whole.
  builtin('', 'v1', 'services', 'Service', true, { shortNames: ['svc'], hasStatus: true }),
  builtin('apps', 'v1', 'deployments', 'Deployment', true, { shortNames: ['deploy'], hasStatus: true, tracksGeneration: true }),
  builtin('events.k8s.io', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
  builtin('coordination.k8s.io', 'v1', 'leases', 'Lease', true, {
    printerColumns: { v1: [{ name: 'Holder', type: 'string', jsonPath: '.spec.holderIdentity' }, AGE_COLUMN] },
  }),
  builtin('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true),
  builtin('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false),
  builtin('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true),
  builtin('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false),
  builtin('authorization.k8s.io', 'v1', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', false, {
    verbs: ['create'],
  }),
  builtin('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, {
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    hasStatus: true,
    tracksGeneration: true,
  }),
];

interface CrdVersion {
  name?: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: unknown };
  subresources?: { status?: unknown };
  additionalPrinterColumns?: PrinterColumn[];
}

interface CrdSpec {
  group?: string;
  scope?: string;
  names?: { plural?: string; singular?: string; kind?: string; listKind?: string; shortNames?: string[]; categories?: string[] };
  versions?: CrdVersion[];
}

/** Reads a CRD object into a ResourceType, or explains why it cannot be served. */
export function resourceTypeFromCrd(crd: KObject): ResourceType | string {
  const spec = (crd['spec'] ?? {}) as CrdSpec;
  const names = spec.names ?? {};
  if (!spec.group || !names.plural || !names.kind) return 'spec.group, spec.names.plural and spec.names.kind are required';
  if (crd.metadata.name !== `${names.plural}.${spec.group}`) return `metadata.name must be spec.names.plural+"."+spec.group`;
  const served = (spec.versions ?? []).filter((v) => v.served !== false && typeof v.name === 'string');
  if (served.length === 0) return 'spec.versions must serve at least one version';
  // Preferred version: the storage version first, as the apiserver orders by priority.
  served.sort((a, b) => Number(b.storage === true) - Number(a.storage === true));
  const printerColumns: Record<string, PrinterColumn[]> = {};
  const schemas: Record<string, unknown> = {};
  for (const v of served) {
    const name = v.name as string;
    printerColumns[name] = v.additionalPrinterColumns ?? [];
    if (v.schema?.openAPIV3Schema !== undefined) schemas[name] = v.schema.openAPIV3Schema;
  }
  return {
    group: spec.group,
    versions: served.map((v) => v.name as string),
    plural: names.plural,
    singular: names.singular ?? names.kind.toLowerCase(),
    kind: names.kind,
    listKind: names.listKind ?? `${names.kind}List`,
    namespaced: spec.scope !== 'Cluster',
    shortNames: names.shortNames ?? [],
    categories: names.categories ?? [],
    verbs: STANDARD_VERBS,
    hasStatus: served.some((v) => v.subresources?.status !== undefined),
    tracksGeneration: true,
    custom: true,
    printerColumns,
    schemas,
  };
}

export class Registry {
  private readonly byKey = new Map<string, ResourceType>();

  constructor() {
    for (const rt of BUILTINS) this.byKey.set(keyOf(rt), rt);
  }

  all(): ResourceType[] {
    return [...this.byKey.values()];
  }

  byKeyName(key: string): ResourceType | undefined {
    return this.byKey.get(key);
  }

  /** The type served at group/version/plural, if that version is served. */
  lookup(group: string, version: string, plural: string): ResourceType | undefined {
    const rt = this.byKey.get(resourceKey(group, plural));
    return rt && rt.versions.includes(version) ? rt : undefined;
  }

  /** Accepts `secrets`, `mixpeeksecrets.mixpeek.com`, `leases.coordination.k8s.io`. */
  resolve(ref: string): ResourceType | undefined {
    return this.byKey.get(ref);
  }

  upsertCustom(rt: ResourceType): void {
    this.byKey.set(keyOf(rt), rt);
  }

  removeCustom(key: string): void {
    const rt = this.byKey.get(key);
    if (rt?.custom) this.byKey.delete(key);
  }

  /** group -> versions served, in a stable order (core group excluded). */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const rt of this.byKey.values()) {
      if (!rt.group) continue;
      const versions = out.get(rt.group) ?? [];
      for (const v of rt.versions) if (!versions.includes(v)) versions.push(v);
      out.set(rt.group, versions);
    }
    return out;
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.all().filter((rt) => rt.group === group && rt.versions.includes(version));
  }
}
