/** Representations of stored objects on the wire: full (at the requested version) and metadata-only. */
import type { ResourceType } from './registry.js';
import type { KObject } from './types.js';

export function atVersion(obj: KObject, apiVersion: string): KObject {
  return obj.apiVersion === apiVersion ? obj : { ...obj, apiVersion };
}

export function partialMetadata(obj: KObject): KObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export function groupVersion(rt: ResourceType, version: string): string {
  return rt.group ? `${rt.group}/${version}` : version;
}

export interface ListMeta {
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

/** Continue tokens: the list's resourceVersion and the last key served, opaque to clients. */
export function encodeContinue(rv: string, lastKey: string): string {
  return Buffer.from(JSON.stringify({ rv, start: lastKey }), 'utf8').toString('base64url');
}

export function decodeContinue(token: string): { rv: string; start: string } | undefined {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && typeof (v as { start?: unknown }).start === 'string') {
      const t = v as { rv?: unknown; start: string };
      return { rv: typeof t.rv === 'string' ? t.rv : '', start: t.start };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export function itemKeyOf(obj: KObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

/** JSON of a stored object. (A per-object cache in a WeakMap was tried: its ephemerons made young-generation GC pauses worse.) */
export function jsonOf(obj: KObject): string {
  return JSON.stringify(obj);
}

/** JSON of the PartialObjectMetadata form of a stored object. */
export function metadataJsonOf(obj: KObject): string {
  return JSON.stringify(partialMetadata(obj));
}
