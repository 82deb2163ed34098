/**
 * The two writes the operator makes to a MixpeekSecret: a merge patch of its
 * status subresource, and the finalizer list on the main resource. Both feed
 * their answer to the CrCache so the next reconcile sees its own writes.
 */
import { PatchStrategy, setHeaderOptions, type CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { CrCache } from './cr-cache.js';
import { isNotFound, kubeGetJson, toKubeApiError } from './kube.js';
import type { CrRef, FinalizerWriter, StatusWriteResult, StatusWriter } from './ports.js';
import type { StatusPatch } from './status.js';
import { GROUP, PLURAL, VERSION, type StoredMixpeekSecret } from './types.js';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function isStored(o: unknown): o is StoredMixpeekSecret {
  if (typeof o !== 'object' || o === null) return false;
  const m = (o as { metadata?: unknown }).metadata;
  return typeof m === 'object' && m !== null && typeof (m as { name?: unknown }).name === 'string';
}

export class CrWriter implements StatusWriter, FinalizerWriter {
  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly custom: CustomObjectsApi,
    private readonly cache: CrCache,
  ) {}

  async patchStatus(ref: CrRef, patch: StatusPatch, _signal: AbortSignal): Promise<StatusWriteResult> {
    // The patch is addressed by name: a CR deleted and created again meanwhile must not get the old one's status.
    const current = this.cache.get(ref.namespace, ref.name);
    if (current && current.metadata.uid !== ref.uid) return 'Gone';
    let answer: unknown;
    try {
      answer = await this.custom.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, plural: PLURAL, namespace: ref.namespace, name: ref.name, body: patch },
        MERGE_PATCH,
      );
    } catch (e) {
      if (isNotFound(e)) return 'Gone';
      throw toKubeApiError(e, 'patch MixpeekSecret status');
    }
    if (isStored(answer)) this.cache.recordWrite(ref.resourceVersion, answer);
    return 'Written';
  }

  add(ref: CrRef, finalizer: string, signal: AbortSignal): Promise<void> {
    return this.editFinalizers(ref, signal, (list) => (list.includes(finalizer) ? undefined : [...list, finalizer]));
  }

  remove(ref: CrRef, finalizer: string, signal: AbortSignal): Promise<void> {
    return this.editFinalizers(ref, signal, (list) => (list.includes(finalizer) ? list.filter((f) => f !== finalizer) : undefined));
  }

  /**
   * Reads the CR fresh and merge-patches the whole finalizer list with its
   * resourceVersion as a precondition: a concurrent edit of the list answers
   * 409 and the reconcile is retried, so no one else's finalizer is dropped.
   */
  private async editFinalizers(ref: CrRef, signal: AbortSignal, edit: (list: string[]) => string[] | undefined): Promise<void> {
    const path = `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(ref.namespace)}/${PLURAL}/${encodeURIComponent(ref.name)}`;
    let current: unknown;
    try {
      current = await kubeGetJson(this.kubeConfig, path, { signal });
    } catch (e) {
      if (isNotFound(e)) return; // gone: nothing holds it any more
      throw e;
    }
    if (!isStored(current) || current.metadata.uid !== ref.uid) return; // a new object under the same name is not ours to edit
    const next = edit(current.metadata.finalizers ?? []);
    if (next === undefined) return;
    let answer: unknown;
    try {
      answer = await this.custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          namespace: ref.namespace,
          name: ref.name,
          body: { metadata: { finalizers: next, resourceVersion: current.metadata.resourceVersion } },
        },
        MERGE_PATCH,
      );
    } catch (e) {
      if (isNotFound(e)) return;
      throw toKubeApiError(e, 'patch MixpeekSecret finalizers');
    }
    if (isStored(answer)) this.cache.recordWrite(current.metadata.resourceVersion, answer);
  }
}
