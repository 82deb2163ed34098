/**
 * Structural-schema semantics of a CRD's openAPIV3Schema, in the order kube-apiserver applies them to a custom
 * resource on create, update and patch: prune unknown fields, drop non-nullable nulls that have no default,
 * apply defaults, then validate. Field paths and messages follow apiextensions-apiserver and kube-openapi, so
 * a 422 from the simulator reads like one from a real cluster.
 *
 * Not covered: CEL rules (x-kubernetes-validations), allOf/anyOf/oneOf/not, validation ratcheting on update.
 */

export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueTypeInvalid'
  | 'FieldValueTooLong'
  // The apiserver reports minLength as FieldValueInvalid; kept so callers switching on the brief's names compile.
  | 'FieldValueTooShort'
  | 'FieldValueTooMany';

/** One cause of a 422: `type` is the StatusCause reason, `message` its text (field.Error's ErrorBody). */
export interface FieldError {
  type: FieldErrorType;
  field: string;
  message: string;
}

export interface StructuralResult {
  /** A new object: pruned and defaulted. The input is never mutated. */
  object: unknown;
  errors: FieldError[];
  /** Paths of the fields pruning removed (`spec.extra`, `spec.items[0].x`): what fieldValidation=Strict rejects. */
  unknownFields: string[];
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** The schema keywords the simulator honours, read once from the CRD's JSON. */
interface Node {
  types: string[];
  nullable: boolean;
  hasDefault: boolean;
  default: Json;
  format: string;
  properties: Map<string, Node> | undefined;
  required: string[];
  additional: Node | 'preserve' | undefined;
  items: Node | undefined;
  enum: Json[] | undefined;
  pattern: RegExp | undefined;
  patternSource: string;
  minimum: number | undefined;
  maximum: number | undefined;
  exclusiveMinimum: boolean;
  exclusiveMaximum: boolean;
  multipleOf: number | undefined;
  minLength: number | undefined;
  maxLength: number | undefined;
  minItems: number | undefined;
  maxItems: number | undefined;
  minProperties: number | undefined;
  maxProperties: number | undefined;
  preserveUnknown: boolean;
  embeddedResource: boolean;
}

const compiled = new WeakMap<object, Node>();

export function applyStructuralSchema(object: unknown, schema: unknown): StructuralResult {
  const root = compile(schema);
  const copy = toJson(object);
  const unknownFields: string[] = [];
  prune(copy, root, '', true, unknownFields);
  dropNonNullableNulls(copy, root);
  applyDefaults(copy, root);
  const errors: FieldError[] = [];
  validate(copy, root, '', errors);
  return { object: copy, errors, unknownFields };
}

// ---- schema reading ----------------------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function compile(schema: unknown): Node {
  if (isRecord(schema)) {
    const hit = compiled.get(schema);
    if (hit) return hit;
  }
  const s = isRecord(schema) ? schema : {};
  const intOrString = s['x-kubernetes-int-or-string'] === true;
  const types = intOrString ? ['integer', 'string'] : typeof s['type'] === 'string' && s['type'] !== '' ? [s['type']] : [];
  let properties: Map<string, Node> | undefined;
  if (isRecord(s['properties'])) {
    properties = new Map(Object.entries(s['properties']).map(([k, v]) => [k, compile(v)]));
  }
  const ap = s['additionalProperties'];
  const additional = ap === true ? 'preserve' : isRecord(ap) ? compile(ap) : undefined;
  const patternSource = typeof s['pattern'] === 'string' ? s['pattern'] : '';
  const node: Node = {
    types,
    nullable: s['nullable'] === true,
    hasDefault: 'default' in s && s['default'] !== undefined,
    default: 'default' in s ? toJson(s['default']) : null,
    format: typeof s['format'] === 'string' ? s['format'] : '',
    properties,
    required: Array.isArray(s['required']) ? s['required'].filter((r): r is string => typeof r === 'string') : [],
    additional,
    items: isRecord(s['items']) ? compile(s['items']) : undefined,
    enum: Array.isArray(s['enum']) ? s['enum'].map(toJson) : undefined,
    pattern: patternSource ? compilePattern(patternSource) : undefined,
    patternSource,
    minimum: num(s['minimum']),
    maximum: num(s['maximum']),
    exclusiveMinimum: s['exclusiveMinimum'] === true,
    exclusiveMaximum: s['exclusiveMaximum'] === true,
    multipleOf: num(s['multipleOf']),
    minLength: num(s['minLength']),
    maxLength: num(s['maxLength']),
    minItems: num(s['minItems']),
    maxItems: num(s['maxItems']),
    minProperties: num(s['minProperties']),
    maxProperties: num(s['maxProperties']),
    preserveUnknown: s['x-kubernetes-preserve-unknown-fields'] === true,
    embeddedResource: s['x-kubernetes-embedded-resource'] === true,
  };
  if (isRecord(schema)) compiled.set(schema, node);
  return node;
}

function compilePattern(source: string): RegExp | undefined {
  try {
    return new RegExp(source, 'u');
  } catch {
    try {
      return new RegExp(source);
    } catch {
      // The apiserver rejects such a CRD; a simulator fed one anyway skips the check rather than crash.
      return undefined;
    }
  }
}

/** Deep copy as plain JSON (drops undefined, turns Dates into strings) so nothing aliases the caller's object. */
function toJson(v: unknown): Json {
  if (v === undefined) return null;
  return JSON.parse(JSON.stringify(v) ?? 'null') as Json;
}

// ---- pruning -----------------------------------------------------------------------------------------------

const META_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

const childPath = (path: string, key: string): string => (path ? `${path}.${key}` : key);
const indexPath = (path: string, i: number): string => `${path}[${i}]`;

/**
 * Removes fields the schema does not declare. `resourceRoot` (the object itself, or an embedded resource) keeps
 * apiVersion, kind and metadata whatever the schema says: the server handles metadata on its own.
 */
function prune(value: Json, node: Node | undefined, path: string, resourceRoot: boolean, unknown: string[]): void {
  if (node?.preserveUnknown) {
    pruneKnownOnly(value, node, path, unknown);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => prune(item, node?.items, indexPath(path, i), false, unknown));
    return;
  }
  if (!isRecord(value)) return;
  const keepMeta = resourceRoot || node?.embeddedResource === true;
  for (const key of Object.keys(value)) {
    const item = value[key] as Json;
    if (keepMeta && META_FIELDS.has(key)) continue;
    const prop = node?.properties?.get(key);
    if (prop) {
      prune(item, prop, childPath(path, key), false, unknown);
    } else if (node?.additional === 'preserve') {
      continue;
    } else if (node?.additional) {
      prune(item, node.additional, childPath(path, key), false, unknown);
    } else {
      unknown.push(childPath(path, key));
      delete value[key];
    }
  }
}

/** Under x-kubernetes-preserve-unknown-fields unknown keys stay, but declared ones are still pruned inside. */
function pruneKnownOnly(value: Json, node: Node, path: string, unknown: string[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (node.items) pruneKnownOnly(item, node.items, indexPath(path, i), unknown);
    });
    return;
  }
  if (!isRecord(value)) return;
  for (const [key, item] of Object.entries(value)) {
    if (node.embeddedResource && META_FIELDS.has(key)) continue;
    const prop = node.properties?.get(key);
    if (prop) prune(item, prop, childPath(path, key), false, unknown);
    else if (node.additional && node.additional !== 'preserve') {
      prune(item, node.additional, childPath(path, key), false, unknown);
    }
  }
}

// ---- nulls and defaults ------------------------------------------------------------------------------------

/** A null for a declared, non-nullable property with no default is dropped, as if it had not been sent. */
function dropNonNullableNulls(value: Json, node: Node | undefined): void {
  if (!node) return;
  if (Array.isArray(value)) {
    for (const item of value) dropNonNullableNulls(item, node.items);
    return;
  }
  if (!isRecord(value)) return;
  for (const key of Object.keys(value)) {
    const prop = node.properties?.get(key);
    if (prop && value[key] === null && !prop.hasDefault && !prop.nullable) delete value[key];
  }
  for (const [key, item] of Object.entries(value)) {
    const prop = node.properties?.get(key);
    if (prop) dropNonNullableNulls(item, prop);
    else if (node.additional && node.additional !== 'preserve') dropNonNullableNulls(item, node.additional);
  }
}

/**
 * Fills missing properties (and non-nullable nulls) from `default`, then descends, so defaults inside a
 * defaulted object apply too. Only where the parent exists: an absent `spec` stays absent unless it has a default.
 */
function applyDefaults(value: Json, node: Node | undefined): void {
  if (!node) return;
  if (Array.isArray(value)) {
    for (const item of value) applyDefaults(item, node.items);
    return;
  }
  if (!isRecord(value)) return;
  if (node.properties) {
    for (const [key, prop] of node.properties) {
      if (!prop.hasDefault || prop.default === null) continue;
      const present = Object.hasOwn(value, key);
      if (!present || (value[key] === null && !prop.nullable)) value[key] = toJson(prop.default);
    }
  }
  for (const [key, item] of Object.entries(value)) {
    const prop = node.properties?.get(key);
    if (prop) applyDefaults(item, prop);
    else if (node.additional && node.additional !== 'preserve') applyDefaults(item, node.additional);
  }
}

// ---- validation --------------------------------------------------------------------------------------------

type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

function jsonType(v: Json): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(v) ? 'integer' : 'number';
    case 'string':
      return 'string';
    default:
      return 'object';
  }
}

/** Go's `%q`, close enough for the values a CR holds. */
function quote(s: string): string {
  return JSON.stringify(s);
}

/** Go's `%v` for a float64: shortest digits, exponent form from 1e+06 or below 1e-04 (two-digit exponent). */
export function goFloat(n: number): string {
  if (n === 0) return '0';
  const [mantissa = '', expText = '0'] = n.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return String(n);
}

/** A JSON number as the apiserver prints it: integral values were decoded as int64, others as float64. */
function goNumber(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < 1e21 ? BigInt(n).toString() : goFloat(n);
}

/** field.Error's rendering of a bad value, as in `Invalid value: "x"` or `Invalid value: 3`. */
function renderValue(v: Json): string {
  if (v === null) return '"null"';
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function invalid(field: string, value: Json, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field, message: `Invalid value: ${renderValue(value)}: ${detail}` };
}

function validate(value: Json, node: Node, path: string, errors: FieldError[]): void {
  const where = `${path} in body`;
  if (value === null) {
    if (node.types.length > 0 && !node.nullable) errors.push(typeInvalid(path, node.types.join(','), 'null'));
    if (node.enum) errors.push(notSupported(path, value, node.enum));
    return;
  }
  const actual = jsonType(value);
  if (node.types.length > 0 && !typeMatches(node.types, actual)) {
    errors.push(typeInvalid(path, node.types.join(','), actual));
  }

  if (typeof value === 'string') {
    const length = [...value].length;
    if (node.maxLength !== undefined && length > node.maxLength) {
      errors.push({ type: 'FieldValueTooLong', field: path, message: `Too long: may not be more than ${node.maxLength} bytes` });
    }
    if (node.minLength !== undefined && length < node.minLength) {
      errors.push(invalid(path, value, `${where} should be at least ${node.minLength} chars long`));
    }
    if (node.pattern && !node.pattern.test(value)) {
      errors.push(invalid(path, value, `${where} should match '${node.patternSource}'`));
    }
    if (node.format && !formatAccepts(node.format, value)) {
      errors.push({
        type: 'FieldValueTypeInvalid',
        field: path,
        message: `Invalid value: ${quote(value)}: ${where} must be of type ${node.format}: ${quote(value)}`,
      });
    }
  }

  if (typeof value === 'number') validateNumber(value, node, path, errors);

  if (Array.isArray(value)) {
    if (node.items) {
      const items = node.items;
      value.forEach((item, i) => validate(item, items, indexPath(path, i), errors));
    }
    if (node.minItems !== undefined && value.length < node.minItems) {
      errors.push(invalid(path, value.length, `${where} should have at least ${node.minItems} items`));
    }
    if (node.maxItems !== undefined && value.length > node.maxItems) {
      errors.push({
        type: 'FieldValueTooMany',
        field: path,
        message: `Too many: ${value.length}: must have at most ${node.maxItems} items`,
      });
    }
  }

  if (node.enum && !node.enum.some((allowed) => jsonEquals(allowed, value))) {
    errors.push(notSupported(path, value, node.enum));
  }

  if (isRecord(value)) validateObject(value, node, path, errors);
}

function typeMatches(types: string[], actual: JsonType): boolean {
  // An integral number satisfies `number`; `1.0` is integral in JSON and so satisfies `integer`.
  return types.includes(actual) || (actual === 'integer' && types.includes('number'));
}

function typeInvalid(path: string, expected: string, actual: string): FieldError {
  return {
    type: 'FieldValueTypeInvalid',
    field: path,
    message: `Invalid value: ${quote(actual)}: ${path} in body must be of type ${expected}: ${quote(actual)}`,
  };
}

function notSupported(path: string, value: Json, allowed: Json[]): FieldError {
  const values = allowed.map((a) => quote(typeof a === 'string' ? a : JSON.stringify(a)));
  return {
    type: 'FieldValueNotSupported',
    field: path,
    message: `Unsupported value: ${renderValue(value)}: supported values: ${values.join(', ')}`,
  };
}

function validateNumber(value: number, node: Node, path: string, errors: FieldError[]): void {
  const where = `${path} in body`;
  if (node.multipleOf !== undefined && node.multipleOf > 0) {
    const q = value / node.multipleOf;
    if (Math.abs(q - Math.round(q)) > 1e-9) {
      errors.push(invalid(path, value, `${where} should be a multiple of ${goNumber(node.multipleOf)}`));
    }
  }
  if (node.maximum !== undefined) {
    const bad = node.exclusiveMaximum ? value >= node.maximum : value > node.maximum;
    if (bad) {
      const rel = node.exclusiveMaximum ? 'less than' : 'less than or equal to';
      errors.push(invalid(path, value, `${where} should be ${rel} ${boundText(value, node.maximum)}`));
    }
  }
  if (node.minimum !== undefined) {
    const bad = node.exclusiveMinimum ? value <= node.minimum : value < node.minimum;
    if (bad) {
      const rel = node.exclusiveMinimum ? 'greater than' : 'greater than or equal to';
      errors.push(invalid(path, value, `${where} should be ${rel} ${boundText(value, node.minimum)}`));
    }
  }
}

/** kube-openapi prints the bound as an int64 when the value is an integer, else as a float64. */
function boundText(value: number, bound: number): string {
  return Number.isInteger(value) && Number.isInteger(bound) ? goNumber(bound) : goFloat(bound);
}

function validateObject(value: JsonObject, node: Node, path: string, errors: FieldError[]): void {
  const where = `${path} in body`;
  const count = Object.keys(value).length;
  if (node.minProperties !== undefined && count < node.minProperties) {
    errors.push(invalid(path, count, `${where} should have at least ${node.minProperties} properties`));
    return;
  }
  if (node.maxProperties !== undefined && count > node.maxProperties) {
    errors.push({
      type: 'FieldValueTooMany',
      field: path,
      message: `Too many: ${count}: must have at most ${node.maxProperties} items`,
    });
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    const prop = node.properties?.get(key);
    if (prop) validate(item, prop, childPath(path, key), errors);
    else if (node.additional && node.additional !== 'preserve') {
      validate(item, node.additional, childPath(path, key), errors);
    }
  }
  for (const key of node.required) {
    if (!Object.hasOwn(value, key)) {
      errors.push({ type: 'FieldValueRequired', field: childPath(path, key), message: 'Required value' });
    }
  }
}

function jsonEquals(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEquals(x, b[i] ?? null));
  }
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEquals(a[k] as Json, b[k] as Json));
  }
  return false;
}

// ---- formats -----------------------------------------------------------------------------------------------

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function validDate(y: string, m: string, d: string): boolean {
  const month = Number(m);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(Number(y), month, 0)).getUTCDate();
}

/**
 * The formats the apiserver checks on strings. Unknown formats (int32, int-or-string, ...) are not checked,
 * as the apiserver strips formats it does not support before validating.
 */
function formatAccepts(format: string, value: string): boolean {
  switch (format) {
    case 'date-time':
    case 'datetime': {
      const m = DATE_TIME.exec(value);
      if (!m) return false;
      const [, y = '', mo = '', d = '', h = '', mi = '', s = ''] = m;
      return validDate(y, mo, d) && Number(h) < 24 && Number(mi) < 60 && Number(s) < 61;
    }
    case 'date': {
      const m = DATE.exec(value);
      return m !== null && validDate(m[1] ?? '', m[2] ?? '', m[3] ?? '');
    }
    case 'uuid':
      return UUID.test(value);
    case 'byte':
      return BASE64.test(value);
    default:
      return true;
  }
}
