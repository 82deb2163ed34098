/**
 * core/v1 Events about MixpeekSecrets, which `kubectl describe` shows.
 * Best effort: a failed event is logged and never fails a reconcile.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from '../observability/log.js';
import { toKubeApiError } from './kube.js';
import type { ControllerEvent, CrRef, EventSink } from './ports.js';
import { API_VERSION, KIND } from './types.js';

export const COMPONENT = 'mixpeek-secret-operator';

export class EventRecorder implements EventSink {
  constructor(
    private readonly core: CoreV1Api,
    private readonly instance: string,
    private readonly logger: Logger,
  ) {}

  async emit(ref: CrRef, event: ControllerEvent): Promise<void> {
    const now = new Date();
    try {
      await this.core.createNamespacedEvent({
        namespace: ref.namespace,
        body: {
          metadata: { generateName: `${ref.name}.`, namespace: ref.namespace },
          involvedObject: {
            apiVersion: API_VERSION,
            kind: KIND,
            name: ref.name,
            namespace: ref.namespace,
            uid: ref.uid,
            ...(ref.resourceVersion !== undefined && { resourceVersion: ref.resourceVersion }),
          },
          type: event.type,
          reason: event.reason,
          message: event.message,
          action: event.reason,
          source: { component: COMPONENT },
          reportingComponent: COMPONENT,
          reportingInstance: this.instance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (e) {
      this.logger.warn({ namespace: ref.namespace, name: ref.name, reason: event.reason, error: toKubeApiError(e, 'create Event').message }, 'event not recorded');
    }
  }
}
