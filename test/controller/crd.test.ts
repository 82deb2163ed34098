import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseSpec } from '../../src/controller/spec.js';
import { GROUP, KIND, PLURAL, VERSION } from '../../src/controller/types.js';

interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  pattern?: string;
  enum?: unknown[];
  default?: unknown;
  minLength?: number;
  maxLength?: number;
  [k: string]: unknown;
}

interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames: string[] };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: object };
      additionalPrinterColumns: { name: string; type: string; jsonPath: string }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

const text = readFileSync(new URL('../../crds/mixpeeksecrets.mixpeek.com.yaml', import.meta.url), 'utf8');
const crd = parse(text) as Crd;
const version = crd.spec.versions[0];
const root = version?.schema.openAPIV3Schema ?? {};
const specSchema = root.properties?.spec ?? {};
const statusSchema = root.properties?.status ?? {};

function walk(schema: Schema, path: string, visit: (s: Schema, path: string) => void): void {
  visit(schema, path);
  for (const [name, child] of Object.entries(schema.properties ?? {})) walk(child, `${path}.${name}`, visit);
  if (schema.items) walk(schema.items, `${path}[]`, visit);
}

function matches(schema: Schema | undefined, value: string): boolean {
  if (!schema) throw new Error('no schema');
  if (schema.minLength !== undefined && value.length < schema.minLength) return false;
  if (schema.maxLength !== undefined && value.length > schema.maxLength) return false;
  return schema.pattern === undefined || new RegExp(schema.pattern, 'u').test(value);
}

describe('the CRD', () => {
  it('names the resource as specified', () => {
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.kind).toBe('CustomResourceDefinition');
    expect(crd.metadata.name).toBe(`${PLURAL}.${GROUP}`);
    expect(crd.spec.group).toBe(GROUP);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({ kind: KIND, plural: PLURAL, singular: 'mixpeeksecret', shortNames: ['mxs'] });
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({ name: VERSION, served: true, storage: true, subresources: { status: {} } });
  });

  it('has a description on every schema field, status included', () => {
    const missing: string[] = [];
    walk(root, 'root', (s, path) => {
      if (typeof s.description !== 'string' || s.description.trim() === '') missing.push(path);
    });
    expect(missing).toEqual([]);
    expect(Object.keys(statusSchema.properties ?? {}).sort()).toEqual(
      ['conditions', 'lastSyncTime', 'observedGeneration', 'secretName', 'syncedResourceVersion', 'updated'].sort(),
    );
  });

  it('is structural: every node has a type; no CEL (1.24 API servers)', () => {
    const untyped: string[] = [];
    walk(root, 'root', (s, path) => {
      if (typeof s.type !== 'string') untyped.push(path);
    });
    expect(untyped).toEqual([]);
    expect(text).not.toContain('x-kubernetes-validations');
  });

  it('requires secretRef.name, secretRef.key and vaultSecretName', () => {
    expect(root.required).toEqual(['spec']);
    expect(specSchema.required).toEqual(['secretRef', 'vaultSecretName']);
    expect(specSchema.properties?.secretRef?.required).toEqual(['name', 'key']);
    expect(specSchema.properties?.connectionRef?.required).toEqual(['name']);
  });

  it('declares the defaults and the enum', () => {
    const p = specSchema.properties ?? {};
    expect(p.createIfMissing).toMatchObject({ type: 'boolean', default: true });
    expect(p.deletionPolicy).toMatchObject({ type: 'string', enum: ['Retain', 'Delete'], default: 'Retain' });
    expect(p.refreshInterval).toMatchObject({ type: 'string', default: '0s' });
    expect(statusSchema.properties?.lastSyncTime).toMatchObject({ type: 'string', format: 'date-time' });
    expect(statusSchema.properties?.conditions).toMatchObject({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });
    expect(statusSchema.properties?.conditions?.items?.required).toEqual(['type', 'status', 'reason', 'message', 'lastTransitionTime']);
  });

  it('its patterns accept and refuse what the run-time validation does', () => {
    const p = specSchema.properties ?? {};
    const base = { secretRef: { name: 's', key: 'k' }, vaultSecretName: 'v' };
    const vaultNames = ['stripe_api_key', 'a', 'A.b-c_d', 'v'.repeat(100), '', 'v'.repeat(101), 'a/b', 'a b', '_lead', 'a%2F', 'é'];
    for (const n of vaultNames) {
      expect([n, matches(p.vaultSecretName, n)]).toEqual([n, parseSpec({ ...base, vaultSecretName: n }).ok]);
    }
    const secretNames = ['stripe-credentials', 'a.b', 'a'.repeat(253), 'a'.repeat(254), 'Upper', '-a', 'a-', 'a..b', 'a_b'];
    for (const n of secretNames) {
      expect([n, matches(p.secretRef?.properties?.name, n)]).toEqual([n, parseSpec({ ...base, secretRef: { name: n, key: 'k' } }).ok]);
      expect([n, matches(p.connectionRef?.properties?.name, n)]).toEqual([n, parseSpec({ ...base, connectionRef: { name: n } }).ok]);
    }
    const keys = ['api-key', '.dot', 'A_b.c-1', 'a/b', 'a b', '', 'k'.repeat(254)];
    for (const k of keys) {
      expect([k, matches(p.secretRef?.properties?.key, k)]).toEqual([k, parseSpec({ ...base, secretRef: { name: 's', key: k } }).ok]);
    }
    // The schema is stricter than Go's syntax (no sign, no bare "0"); everything it accepts parses,
    // and only the run-time check (no CEL on 1.24) refuses a non-zero interval under a minute.
    for (const d of ['0s', '1h', '1h30m', '1.5h', '1m', '60s', '60000ms']) {
      expect([d, matches(p.refreshInterval, d)]).toEqual([d, true]);
      expect([d, parseSpec({ ...base, refreshInterval: d }).ok]).toEqual([d, true]);
    }
    for (const d of ['59s', '300ms', '10us', '10µs', '10μs', '5ns']) {
      expect([d, matches(p.refreshInterval, d)]).toEqual([d, true]);
      expect([d, parseSpec({ ...base, refreshInterval: d }).ok]).toEqual([d, false]);
    }
    for (const d of ['1d', '-1h', '1 h', 'h', '10']) expect([d, matches(p.refreshInterval, d)]).toEqual([d, false]);
  });

  it('has the printer columns Secret, Vault Name, Ready, Reason, Updated, Last Sync, Age', () => {
    expect(version?.additionalPrinterColumns.map((c) => [c.name, c.type, c.jsonPath])).toEqual([
      ['Secret', 'string', '.spec.secretRef.name'],
      ['Vault Name', 'string', '.spec.vaultSecretName'],
      ['Ready', 'string', '.status.conditions[?(@.type=="Ready")].status'],
      ['Reason', 'string', '.status.conditions[?(@.type=="Ready")].reason'],
      ['Updated', 'boolean', '.status.updated'],
      ['Last Sync', 'date', '.status.lastSyncTime'],
      ['Age', 'date', '.metadata.creationTimestamp'],
    ]);
  });
});
