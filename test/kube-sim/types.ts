/** A Kubernetes object as plain JSON, the way it travels on the wire and sits in the simulator's store. */
export type KObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
    creationTimestamp?: string;
    generateName?: string;
    managedFields?: unknown[];
    [k: string]: unknown;
  };
  [k: string]: unknown;
};
