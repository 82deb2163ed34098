/**
 * meta.k8s.io/v1 Table answers, built the way apiextensions-apiserver's table convertor builds them for custom
 * resources: a Name column, then the CRD's additionalPrinterColumns (or Age when it has none), each cell the
 * first JSONPath result coerced to the column's type. This is what `kubectl get` prints.
 */
import { evaluateJsonPath } from './jsonpath.js';
import { goFloat } from './schema.js';
import type { KObject } from './types.js';

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

export type IncludeObject = 'Object' | 'Metadata' | 'None';

export interface TableOptions {
  includeObject: IncludeObject;
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
  /** The clock for Age-style cells; defaults to the current time. */
  now?: Date;
}

export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export type Cell = string | number | boolean | null;

export interface TableRow {
  cells: Cell[];
  object?: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

const NAME_COLUMN: TableColumnDefinition = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description:
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  priority: 0,
};

/** What the apiserver defaults a CRD version's additionalPrinterColumns to when it declares none. */
export const AGE_COLUMN: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export function toTable(objects: KObject[], columns: PrinterColumn[], opts: TableOptions): Table {
  const crdColumns = columns.length > 0 ? columns : [AGE_COLUMN];
  const now = opts.now ?? new Date();
  const metadata: Table['metadata'] = { resourceVersion: opts.resourceVersion };
  if (opts.continueToken) metadata.continue = opts.continueToken;
  if (opts.remainingItemCount !== undefined) metadata.remainingItemCount = opts.remainingItemCount;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: [NAME_COLUMN, ...crdColumns.map(columnDefinition)],
    rows: objects.map((obj) => {
      const row: TableRow = { cells: [obj.metadata.name ?? '', ...crdColumns.map((c) => cellFor(obj, c, now))] };
      if (opts.includeObject === 'Object') row.object = obj;
      if (opts.includeObject === 'Metadata') {
        row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
      }
      return row;
    }),
  };
}

function columnDefinition(c: PrinterColumn): TableColumnDefinition {
  return {
    name: c.name,
    type: c.type,
    format: c.format ?? '',
    description: c.description || `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
    priority: c.priority ?? 0,
  };
}

function cellFor(obj: KObject, column: PrinterColumn, now: Date): Cell {
  let results: unknown[];
  try {
    results = evaluateJsonPath(obj, column.jsonPath);
  } catch {
    return null;
  }
  if (results.length === 0) return null;
  // Only simple paths are expected, so the first result is the value (as the apiserver does).
  const value = results[0];
  switch (column.type) {
    case 'string':
      return printed(value);
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date': {
      if (typeof value !== 'string') return null;
      const at = parseRfc3339(value);
      return at === undefined ? '<invalid>' : humanDuration(now.getTime() - at);
    }
    default:
      return null;
  }
}

/** How client-go's JSONPath printer writes a value into a string column. */
function printed(value: unknown): string {
  if (value === null || value === undefined) return '<no value>';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : goFloat(value);
  if (typeof value === 'boolean') return String(value);
  return goJson(value);
}

/** Go's json.Marshal: map keys sorted, <, > and & escaped. */
function goJson(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (typeof v === 'object' && v !== null) {
      const rec = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(rec).sort().map((k) => [k, sorted(rec[k])]));
    }
    return v;
  };
  return (JSON.stringify(sorted(value)) ?? 'null').replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function parseRfc3339(s: string): number | undefined {
  if (!RFC3339.test(s)) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/** k8s.io/apimachinery's duration.HumanDuration: "45s", "5m30s", "3h", "2d4h", "1y30d". */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(seconds / 3600);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${hours / 24}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.trunc(hours / 24) % 365;
    const years = Math.trunc(hours / 24 / 365);
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}
