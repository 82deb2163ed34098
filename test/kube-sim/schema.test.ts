import { describe, expect, it } from 'vitest';
import { applyStructuralSchema, goFloat, type FieldError } from './schema.js';

/** The shape of a MixpeekSecret-like CRD schema, with one of each keyword the operator's CRD relies on. */
const crd = {
  type: 'object',
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    spec: {
      type: 'object',
      required: ['secretRef', 'vaultSecretName'],
      properties: {
        secretRef: {
          type: 'object',
          required: ['name', 'key'],
          properties: { name: { type: 'string', minLength: 1 }, key: { type: 'string' } },
        },
        vaultSecretName: { type: 'string', pattern: '^[a-z]+$', maxLength: 100 },
        deletionPolicy: { type: 'string', enum: ['Retain', 'Delete'], default: 'Retain' },
        replicas: { type: 'integer', minimum: 1, maximum: 10 },
        ratio: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 1 },
        enabled: { type: 'boolean' },
        port: { 'x-kubernetes-int-or-string': true },
        refreshInterval: { type: 'string', format: 'date-time' },
        tags: { type: 'array', maxItems: 3, minItems: 1, items: { type: 'string', maxLength: 5 } },
        labels: { type: 'object', additionalProperties: { type: 'string', maxLength: 4 } },
        items: {
          type: 'array',
          items: {
            type: 'object',
            required: ['x'],
            properties: { x: { type: 'integer' }, mode: { type: 'string', default: 'auto' } },
          },
        },
        extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { known: { type: 'object', properties: { a: { type: 'string' } } } } },
        note: { type: 'string', nullable: true },
        timeout: { type: 'integer', default: 30 },
        plain: { type: 'string' },
        options: {
          type: 'object',
          default: {},
          properties: { retries: { type: 'integer', default: 3 }, backoff: { type: 'string', default: '1s' } },
        },
      },
    },
    status: {
      type: 'object',
      properties: {
        conditions: {
          type: 'array',
          items: { type: 'object', properties: { type: { type: 'string' }, status: { type: 'string' } } },
        },
      },
    },
  },
};

const validSpec = { secretRef: { name: 'src', key: 'token' }, vaultSecretName: 'openai' };

function cr(spec: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'mixpeek.com/v1alpha1',
    kind: 'MixpeekSecret',
    metadata: { name: 'a', namespace: 'ns' },
    spec: { ...validSpec, ...spec },
    ...extra,
  };
}

function run(obj: unknown): { object: Record<string, unknown>; errors: FieldError[]; unknownFields: string[] } {
  const r = applyStructuralSchema(obj, crd);
  return { object: r.object as Record<string, unknown>, errors: r.errors, unknownFields: r.unknownFields };
}

function spec(obj: Record<string, unknown>): Record<string, unknown> {
  return obj['spec'] as Record<string, unknown>;
}

describe('validation errors read like the apiserver', () => {
  const cases: { name: string; spec: Record<string, unknown>; want: FieldError[] }[] = [
    {
      name: 'missing required nested field',
      spec: { secretRef: { name: 'src' } },
      want: [{ type: 'FieldValueRequired', field: 'spec.secretRef.key', message: 'Required value' }],
    },
    {
      name: 'enum names the supported values in order',
      spec: { deletionPolicy: 'Keep' },
      want: [
        {
          type: 'FieldValueNotSupported',
          field: 'spec.deletionPolicy',
          message: 'Unsupported value: "Keep": supported values: "Retain", "Delete"',
        },
      ],
    },
    {
      name: 'string where an integer belongs',
      spec: { replicas: 'three' },
      want: [
        {
          type: 'FieldValueTypeInvalid',
          field: 'spec.replicas',
          message: 'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
        },
      ],
    },
    {
      name: 'a fraction is a number, not an integer',
      spec: { replicas: 2.5 },
      want: [
        {
          type: 'FieldValueTypeInvalid',
          field: 'spec.replicas',
          message: 'Invalid value: "number": spec.replicas in body must be of type integer: "number"',
        },
      ],
    },
    {
      name: 'pattern mismatch quotes the pattern',
      spec: { vaultSecretName: 'OpenAI' },
      want: [
        {
          type: 'FieldValueInvalid',
          field: 'spec.vaultSecretName',
          message: `Invalid value: "OpenAI": spec.vaultSecretName in body should match '^[a-z]+$'`,
        },
      ],
    },
    {
      name: 'maxLength is FieldValueTooLong without the value',
      spec: { vaultSecretName: 'a'.repeat(101) },
      want: [{ type: 'FieldValueTooLong', field: 'spec.vaultSecretName', message: 'Too long: may not be more than 100 bytes' }],
    },
    {
      name: 'minLength is FieldValueInvalid',
      spec: { secretRef: { name: '', key: 'k' } },
      want: [
        {
          type: 'FieldValueInvalid',
          field: 'spec.secretRef.name',
          message: 'Invalid value: "": spec.secretRef.name in body should be at least 1 chars long',
        },
      ],
    },
    {
      name: 'maximum',
      spec: { replicas: 11 },
      want: [
        {
          type: 'FieldValueInvalid',
          field: 'spec.replicas',
          message: 'Invalid value: 11: spec.replicas in body should be less than or equal to 10',
        },
      ],
    },
    {
      name: 'minimum',
      spec: { replicas: 0 },
      want: [
        {
          type: 'FieldValueInvalid',
          field: 'spec.replicas',
          message: 'Invalid value: 0: spec.replicas in body should be greater than or equal to 1',
        },
      ],
    },
    {
      name: 'exclusive minimum rejects the bound itself',
      spec: { ratio: 0 },
      want: [
        {
          type: 'FieldValueInvalid',
          field: 'spec.ratio',
          message: 'Invalid value: 0: spec.ratio in body should be greater than 0',
        },
      ],
    },
    {
      name: 'boolean type',
      spec: { enabled: 'yes' },
      want: [
        {
          type: 'FieldValueTypeInvalid',
          field: 'spec.enabled',
          message: 'Invalid value: "string": spec.enabled in body must be of type boolean: "string"',
        },
      ],
    },
    {
      name: 'int-or-string refuses a boolean',
      spec: { port: true },
      want: [
        {
          type: 'FieldValueTypeInvalid',
          field: 'spec.port',
          message: 'Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
        },
      ],
    },
    {
      name: 'date-time format',
      spec: { refreshInterval: 'yesterday' },
      want: [
        {
          type: 'FieldValueTypeInvalid',
          field: 'spec.refreshInterval',
          message: 'Invalid value: "yesterday": spec.refreshInterval in body must be of type date-time: "yesterday"',
        },
      ],
    },
    {
      name: 'array item paths use [i]',
      spec: { items: [{ x: 1 }, { x: 'no' }, {}] },
      want: [
        {
          type: 'FieldValueTypeInvalid',
          field: 'spec.items[1].x',
          message: 'Invalid value: "string": spec.items[1].x in body must be of type integer: "string"',
        },
        { type: 'FieldValueRequired', field: 'spec.items[2].x', message: 'Required value' },
      ],
    },
    {
      name: 'item constraints apply per element',
      spec: { tags: ['ok', 'toolong'] },
      want: [{ type: 'FieldValueTooLong', field: 'spec.tags[1]', message: 'Too long: may not be more than 5 bytes' }],
    },
    {
      name: 'maxItems is FieldValueTooMany',
      spec: { tags: ['a', 'b', 'c', 'd'] },
      want: [{ type: 'FieldValueTooMany', field: 'spec.tags', message: 'Too many: 4: must have at most 3 items' }],
    },
    {
      name: 'minItems',
      spec: { tags: [] },
      want: [
        {
          type: 'FieldValueInvalid',
          field: 'spec.tags',
          message: 'Invalid value: 0: spec.tags in body should have at least 1 items',
        },
      ],
    },
    {
      name: 'additionalProperties schema validates every value of a map',
      spec: { labels: { a: 'ok', b: 'far too long' } },
      want: [{ type: 'FieldValueTooLong', field: 'spec.labels.b', message: 'Too long: may not be more than 4 bytes' }],
    },
    {
      name: 'object where a string belongs',
      spec: { vaultSecretName: { name: 'x' } },
      want: [
        {
          type: 'FieldValueTypeInvalid',
          field: 'spec.vaultSecretName',
          message: 'Invalid value: "object": spec.vaultSecretName in body must be of type string: "object"',
        },
      ],
    },
  ];

  it.each(cases)('$name', ({ spec: s, want }) => {
    expect(run(cr(s)).errors).toEqual(want);
  });

  it('accepts a valid object with no errors', () => {
    const ok = cr({
      replicas: 10,
      ratio: 1,
      port: 'http',
      enabled: false,
      refreshInterval: '2026-11-26T02:26:50.216000Z',
      tags: ['a'],
      labels: { a: 'abcd' },
      items: [{ x: 1 }],
      note: null,
    });
    expect(run(ok).errors).toEqual([]);
  });

  it('accepts an integer for int-or-string and an integral value for number', () => {
    expect(run(cr({ port: 8080, ratio: 1 })).errors).toEqual([]);
  });

  it('reports a missing required top-level spec field with its full path', () => {
    const obj = cr({});
    delete spec(obj)['vaultSecretName'];
    expect(run(obj).errors).toEqual([{ type: 'FieldValueRequired', field: 'spec.vaultSecretName', message: 'Required value' }]);
  });

  it('reports every error, not just the first', () => {
    const errors = run(cr({ replicas: 'x', deletionPolicy: 'Keep', vaultSecretName: 'A' })).errors;
    expect(errors.map((e) => e.field).sort()).toEqual(['spec.deletionPolicy', 'spec.replicas', 'spec.vaultSecretName']);
  });

  it('numeric enum values are listed as JSON text', () => {
    const r = applyStructuralSchema({ spec: { n: 3 } }, { type: 'object', properties: { spec: { type: 'object', properties: { n: { type: 'integer', enum: [1, 2] } } } } });
    expect(r.errors).toEqual([
      { type: 'FieldValueNotSupported', field: 'spec.n', message: 'Unsupported value: 3: supported values: "1", "2"' },
    ]);
  });

  it('a null for a nullable field is kept and valid; in an array it is a type error', () => {
    const r = run(cr({ note: null, tags: [null] }));
    expect(spec(r.object)['note']).toBeNull();
    expect(r.errors).toEqual([
      {
        type: 'FieldValueTypeInvalid',
        field: 'spec.tags[0]',
        message: 'Invalid value: "null": spec.tags[0] in body must be of type string: "null"',
      },
    ]);
  });
});

describe('pruning', () => {
  it('removes unknown fields at every level and reports their paths', () => {
    const r = run(
      cr({ bogus: 1, secretRef: { name: 'n', key: 'k', extra: true }, items: [{ x: 1, stray: 'y' }] }, { topLevel: 'x' }),
    );
    expect(r.errors).toEqual([]);
    expect(spec(r.object)).not.toHaveProperty('bogus');
    expect(spec(r.object)['secretRef']).toEqual({ name: 'n', key: 'k' });
    expect(spec(r.object)['items']).toEqual([{ x: 1, mode: 'auto' }]);
    expect(r.object).not.toHaveProperty('topLevel');
    expect(r.unknownFields.sort()).toEqual(['spec.bogus', 'spec.items[0].stray', 'spec.secretRef.extra', 'topLevel']);
  });

  it('never prunes apiVersion, kind or metadata, even with a schema that does not declare them', () => {
    const obj = { apiVersion: 'g/v1', kind: 'K', metadata: { name: 'a', labels: { x: 'y' }, finalizers: ['f'] }, spec: { a: 1 } };
    const r = applyStructuralSchema(obj, { type: 'object', properties: { spec: { type: 'object' } } });
    expect(r.object).toEqual({ apiVersion: 'g/v1', kind: 'K', metadata: obj.metadata, spec: {} });
    expect(r.unknownFields).toEqual(['spec.a']);
  });

  it('keeps unknown fields under x-kubernetes-preserve-unknown-fields but still prunes declared subtrees', () => {
    const r = run(cr({ extra: { anything: { deep: [1, { x: 2 }] }, known: { a: 'kept', b: 'pruned' } } }));
    expect(spec(r.object)['extra']).toEqual({ anything: { deep: [1, { x: 2 }] }, known: { a: 'kept' } });
    expect(r.unknownFields).toEqual(['spec.extra.known.b']);
  });

  it('keeps every key of an additionalProperties map while pruning inside the values', () => {
    const schema = {
      type: 'object',
      properties: {
        spec: { type: 'object', additionalProperties: { type: 'object', properties: { a: { type: 'string' } } } },
      },
    };
    const r = applyStructuralSchema({ spec: { one: { a: 'x', b: 'y' }, two: {} } }, schema);
    expect(r.object).toEqual({ spec: { one: { a: 'x' }, two: {} } });
  });

  it('keeps apiVersion, kind and metadata of an embedded resource', () => {
    const schema = {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: {
            template: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: { data: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
          },
        },
      },
    };
    const template = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' }, data: { k: 'dg==' }, junk: 1 };
    const r = applyStructuralSchema({ spec: { template } }, schema);
    expect(r.object).toEqual({ spec: { template: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' }, data: { k: 'dg==' } } } });
  });

  it('drops a null for a non-nullable field with no default instead of failing it', () => {
    const r = run(cr({ plain: null }));
    expect(r.errors).toEqual([]);
    expect(spec(r.object)).not.toHaveProperty('plain');
  });

  it('does not mutate its input', () => {
    const input = cr({ bogus: 1 });
    const before = structuredClone(input);
    const r = run(input);
    expect(input).toEqual(before);
    expect(r.object).not.toBe(input);
  });
});

describe('defaulting', () => {
  it('fills a missing property and the default then counts for validation', () => {
    const r = run(cr({}));
    expect(spec(r.object)['deletionPolicy']).toBe('Retain');
    expect(spec(r.object)['timeout']).toBe(30);
    expect(r.errors).toEqual([]);
  });

  it('never overrides a value that was given', () => {
    expect(spec(run(cr({ deletionPolicy: 'Delete', timeout: 5 })).object)).toMatchObject({ deletionPolicy: 'Delete', timeout: 5 });
  });

  it('replaces a null with the default when the field is not nullable', () => {
    expect(spec(run(cr({ timeout: null })).object)['timeout']).toBe(30);
  });

  it('defaults a missing object and then the defaults inside it', () => {
    expect(spec(run(cr({})).object)['options']).toEqual({ retries: 3, backoff: '1s' });
  });

  it('defaults inside an object that was given, keeping its own values', () => {
    expect(spec(run(cr({ options: { retries: 9 } })).object)['options']).toEqual({ retries: 9, backoff: '1s' });
  });

  it('defaults inside each array element', () => {
    expect(spec(run(cr({ items: [{ x: 1 }, { x: 2, mode: 'manual' }] })).object)['items']).toEqual([
      { x: 1, mode: 'auto' },
      { x: 2, mode: 'manual' },
    ]);
  });

  it('does not create a missing parent to hold a nested default', () => {
    const r = run({ apiVersion: 'mixpeek.com/v1alpha1', kind: 'MixpeekSecret', metadata: { name: 'a' } });
    expect(r.object).not.toHaveProperty('spec');
    expect(r.object).not.toHaveProperty('status');
  });

  it('copies defaults so two objects never share one default value', () => {
    const a = spec(run(cr({})).object)['options'] as Record<string, unknown>;
    a['retries'] = 99;
    expect(spec(run(cr({})).object)['options']).toEqual({ retries: 3, backoff: '1s' });
  });

  it('applies defaults before validation, so a defaulted required field is not missing', () => {
    const schema = {
      type: 'object',
      properties: { spec: { type: 'object', required: ['mode'], properties: { mode: { type: 'string', default: 'auto' } } } },
    };
    expect(applyStructuralSchema({ spec: {} }, schema).errors).toEqual([]);
    expect(applyStructuralSchema({ spec: {} }, { ...schema, properties: { spec: { ...schema.properties.spec, properties: { mode: { type: 'string' } } } } }).errors).toEqual([
      { type: 'FieldValueRequired', field: 'spec.mode', message: 'Required value' },
    ]);
  });

  it('validates defaults like any value (a bad default yields an error)', () => {
    const schema = { type: 'object', properties: { spec: { type: 'object', properties: { n: { type: 'integer', maximum: 5, default: 9 } } } } };
    const r = applyStructuralSchema({ spec: {} }, schema);
    expect(r.object).toEqual({ spec: { n: 9 } });
    expect(r.errors.map((e) => e.field)).toEqual(['spec.n']);
  });
});

describe('goFloat prints float64 like Go %v', () => {
  it.each([
    [1.5, '1.5'],
    [0.25, '0.25'],
    [1e6, '1e+06'],
    [123456, '123456'],
    [0.00001, '1e-05'],
    [0.0001, '0.0001'],
  ])('%s → %s', (n, want) => {
    expect(goFloat(n)).toBe(want);
  });
});
