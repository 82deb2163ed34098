import { describe, expect, it } from 'vitest';
import { humanDuration, toTable, type PrinterColumn } from './table.js';
import type { KObject } from './types.js';

const now = new Date('2026-11-26T12:00:00Z');

function cr(name: string, creationTimestamp: string, extra: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'mixpeek.com/v1alpha1',
    kind: 'MixpeekSecret',
    metadata: { name, namespace: 'apps', creationTimestamp, resourceVersion: '42', labels: { a: 'b' } },
    spec: { vaultSecretName: `${name}_key`, replicas: 2, ratio: 0.5, enabled: true, selector: { z: 1, a: '<x>' } },
    ...extra,
  };
}

const columns: PrinterColumn[] = [
  { name: 'Vault Name', type: 'string', jsonPath: '.spec.vaultSecretName', description: 'Name in the vault' },
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas', priority: 1 },
  { name: 'Ratio', type: 'number', jsonPath: '.spec.ratio' },
  { name: 'Enabled', type: 'boolean', jsonPath: '.spec.enabled' },
  { name: 'Synced', type: 'date', jsonPath: '.status.lastSyncTime', format: 'date-time' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

describe('toTable', () => {
  const ready = cr('openai', '2026-11-26T11:55:00Z', {
    status: { conditions: [{ type: 'Ready', status: 'True' }], lastSyncTime: '2026-11-26T09:00:00Z' },
  });
  const fresh = cr('anthropic', '2026-11-24T12:00:00Z');

  it('has the shape kubectl reads: Table, Name first, then the CRD columns in order', () => {
    const t = toTable([ready], columns, { includeObject: 'Metadata', resourceVersion: '99', now });
    expect(t.kind).toBe('Table');
    expect(t.apiVersion).toBe('meta.k8s.io/v1');
    expect(t.metadata).toEqual({ resourceVersion: '99' });
    expect(t.columnDefinitions.map((c) => c.name)).toEqual(['Name', 'Vault Name', 'Ready', 'Replicas', 'Ratio', 'Enabled', 'Synced', 'Age']);
    expect(t.columnDefinitions[0]).toMatchObject({ name: 'Name', type: 'string', format: 'name', priority: 0 });
    expect(t.columnDefinitions[0]?.description).toMatch(/^Name must be unique within a namespace/);
    expect(t.columnDefinitions[1]).toEqual({ name: 'Vault Name', type: 'string', format: '', description: 'Name in the vault', priority: 0 });
    expect(t.columnDefinitions[2]?.description).toBe(
      'Custom resource definition column (in JSONPath format): .status.conditions[?(@.type=="Ready")].status',
    );
    expect(t.columnDefinitions[3]?.priority).toBe(1);
    expect(t.columnDefinitions[6]?.format).toBe('date-time');
  });

  it('fills each cell from its JSONPath with the column type, and null where the path finds nothing', () => {
    const t = toTable([ready, fresh], columns, { includeObject: 'None', resourceVersion: '1', now });
    expect(t.rows[0]?.cells).toEqual(['openai', 'openai_key', 'True', 2, 0.5, true, '3h', '5m']);
    expect(t.rows[1]?.cells).toEqual(['anthropic', 'anthropic_key', null, 2, 0.5, true, null, '2d']);
    expect(t.rows[0]).not.toHaveProperty('object');
  });

  it('defaults to a single Age column when the CRD declares none', () => {
    const t = toTable([fresh], [], { includeObject: 'None', resourceVersion: '1', now });
    expect(t.columnDefinitions.map((c) => [c.name, c.type])).toEqual([
      ['Name', 'string'],
      ['Age', 'date'],
    ]);
    expect(t.rows[0]?.cells).toEqual(['anthropic', '2d']);
  });

  it('attaches a PartialObjectMetadata for includeObject=Metadata', () => {
    const t = toTable([ready], columns, { includeObject: 'Metadata', resourceVersion: '1', now });
    expect(t.rows[0]?.object).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: ready.metadata });
  });

  it('attaches the whole object for includeObject=Object', () => {
    const t = toTable([ready], columns, { includeObject: 'Object', resourceVersion: '1', now });
    expect(t.rows[0]?.object).toEqual(ready);
  });

  it('carries continue and remainingItemCount for a paged list', () => {
    const t = toTable([ready], columns, { includeObject: 'None', resourceVersion: '7', continueToken: 'abc', remainingItemCount: 3, now });
    expect(t.metadata).toEqual({ resourceVersion: '7', continue: 'abc', remainingItemCount: 3 });
  });

  it('gives an empty row list for no objects but keeps the columns', () => {
    const t = toTable([], columns, { includeObject: 'Metadata', resourceVersion: '1', now });
    expect(t.rows).toEqual([]);
    expect(t.columnDefinitions).toHaveLength(8);
  });

  it.each<[PrinterColumn, unknown]>([
    [{ name: 'n', type: 'string', jsonPath: '.spec.replicas' }, '2'],
    [{ name: 'n', type: 'string', jsonPath: '.spec.ratio' }, '0.5'],
    [{ name: 'n', type: 'string', jsonPath: '.spec.enabled' }, 'true'],
    [{ name: 'n', type: 'string', jsonPath: '.spec.selector' }, '{"a":"\\u003cx\\u003e","z":1}'],
    [{ name: 'n', type: 'string', jsonPath: '.spec.nothing' }, null],
    [{ name: 'n', type: 'string', jsonPath: '.spec.nullValue' }, '<no value>'],
    [{ name: 'n', type: 'integer', jsonPath: '.spec.ratio' }, 0],
    [{ name: 'n', type: 'integer', jsonPath: '.spec.vaultSecretName' }, null],
    [{ name: 'n', type: 'number', jsonPath: '.spec.replicas' }, 2],
    [{ name: 'n', type: 'boolean', jsonPath: '.spec.vaultSecretName' }, null],
    [{ name: 'n', type: 'date', jsonPath: '.spec.vaultSecretName' }, '<invalid>'],
    [{ name: 'n', type: 'date', jsonPath: '.spec.replicas' }, null],
    [{ name: 'n', type: 'string', jsonPath: '.spec[' }, null],
  ])('coerces %j to %j', (column, want) => {
    const obj = cr('x', '2026-11-26T11:00:00Z');
    (obj['spec'] as Record<string, unknown>)['nullValue'] = null;
    expect(toTable([obj], [column], { includeObject: 'None', resourceVersion: '1', now }).rows[0]?.cells[1]).toEqual(want);
  });
});

describe('humanDuration matches kubectl ages', () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  it.each<[number, string]>([
    [-5 * s, '<invalid>'],
    [-1 * s, '0s'],
    [0, '0s'],
    [59 * s, '59s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [5 * m + 30 * s, '5m30s'],
    [10 * m + 30 * s, '10m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [3 * h + 20 * m, '3h20m'],
    [8 * h + 20 * m, '8h'],
    [47 * h, '47h'],
    [2 * d, '2d'],
    [2 * d + 5 * h, '2d5h'],
    [8 * d + 5 * h, '8d'],
    [729 * d, '729d'],
    [730 * d, '2y'],
    [800 * d, '2y70d'],
    [3000 * d, '8y'],
  ])('%i ms → %s', (ms, want) => {
    expect(humanDuration(ms)).toBe(want);
  });
});
