/**
 * Secrets as the reconciler sees them: metadata from the metadata-only watch
 * cache (so memory does not grow with payloads), the full object from the API
 * server only when a push is due.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { isNotFound, kubeGetJson } from './kube.js';
import type { SecretMeta, SecretReader } from './ports.js';
import { objectKey, type CoreSecret } from './types.js';
import type { PartialObjectMetadata } from './watch.js';

export class ApiSecretReader implements SecretReader {
  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly cachedMeta: (key: string) => PartialObjectMetadata | undefined,
  ) {}

  meta(namespace: string, name: string): SecretMeta | undefined {
    const obj = this.cachedMeta(objectKey(namespace, name));
    if (!obj) return undefined;
    return obj.metadata.resourceVersion === undefined ? {} : { resourceVersion: obj.metadata.resourceVersion };
  }

  async read(namespace: string, name: string, signal: AbortSignal): Promise<CoreSecret | undefined> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`;
    try {
      // Plain JSON rather than the typed API: no model objects for a payload we drop at once.
      return (await kubeGetJson(this.kubeConfig, path, { signal })) as CoreSecret;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
}
