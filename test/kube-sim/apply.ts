/**
 * Server-side apply, reduced to field ownership per manager: the applied configuration is merged in,
 * and fields this manager applied before but no longer applies are removed. Ownership is recorded in
 * metadata.managedFields in the apiserver's FieldsV1 shape (`{"f:spec":{"f:size":{}}}`); lists are
 * owned whole. Not modelled: conflicts with other managers (force), Update entries.
 */
import { jsonEqual } from './json-equal.js';
import { mergePatch } from './patch.js';
import type { KObject } from './types.js';

export type FieldSet = { [k: string]: FieldSet };

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: FieldSet;
  subresource?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toFields(v: unknown): FieldSet {
  if (!isRecord(v)) return {};
  const out: FieldSet = {};
  for (const [k, child] of Object.entries(v)) if (child !== null && child !== undefined) out[`f:${k}`] = toFields(child);
  return out;
}

/** The fields an applied configuration sets (identity fields excluded, as the apiserver does). */
export function appliedFields(applied: KObject): FieldSet {
  const meta: Record<string, unknown> = { ...applied.metadata };
  for (const k of ['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields']) delete meta[k];
  const rest: Record<string, unknown> = { ...applied, metadata: meta };
  delete rest['apiVersion'];
  delete rest['kind'];
  const fields = toFields(rest);
  if (Object.keys(fields['f:metadata'] ?? {}).length === 0) delete fields['f:metadata'];
  return fields;
}

/**
 * Deletes from `target` the leaf fields in `before` that are absent from `now` and that no other
 * manager applies; a map left empty by that goes too (never `metadata`).
 */
function dropReleased(target: Record<string, unknown>, before: FieldSet, now: FieldSet, others: FieldSet, top: boolean): void {
  for (const [fk, sub] of Object.entries(before)) {
    if (!fk.startsWith('f:')) continue;
    const k = fk.slice(2);
    const kept = now[fk];
    const shared = others[fk];
    if (Object.keys(sub).length === 0) {
      if (kept === undefined && shared === undefined) delete target[k];
      continue;
    }
    const child = target[k];
    if (!isRecord(child)) continue;
    dropReleased(child, sub, kept ?? {}, shared ?? {}, false);
    if (kept === undefined && shared === undefined && Object.keys(child).length === 0 && !(top && k === 'metadata')) delete target[k];
  }
}

function union(sets: FieldSet[]): FieldSet {
  const out: FieldSet = {};
  for (const set of sets) {
    for (const [k, v] of Object.entries(set)) out[k] = union([out[k] ?? {}, v]);
  }
  return out;
}

/** The object after `manager` applies `applied` to `current` (undefined when creating). */
export function serverSideApply(current: KObject | undefined, applied: KObject, manager: string, now: string): KObject {
  const fields = appliedFields(applied);
  const entries = (current?.metadata.managedFields ?? []) as ManagedFieldsEntry[];
  const previous = entries.find((e) => e.manager === manager && e.operation === 'Apply' && e.subresource === undefined);
  const merged = mergePatch(current ?? {}, { ...applied, metadata: { ...applied.metadata, managedFields: undefined } }) as KObject;
  const others = union(entries.filter((e) => e !== previous && e.fieldsV1).map((e) => e.fieldsV1 as FieldSet));
  if (previous?.fieldsV1) dropReleased(merged, previous.fieldsV1, fields, others, true);
  const entry: ManagedFieldsEntry = {
    manager,
    operation: 'Apply',
    apiVersion: applied.apiVersion ?? current?.apiVersion ?? '',
    time: previous && jsonEqual(previous.fieldsV1, fields) && previous.time ? previous.time : now,
    fieldsType: 'FieldsV1',
    fieldsV1: fields,
  };
  merged.metadata.managedFields = [...entries.filter((e) => e !== previous), entry];
  return merged;
}
