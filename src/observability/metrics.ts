/**
 * Prometheus metrics on a private Registry (never prom-client's global one, so
 * tests and several operators in one process do not collide).
 *
 * Every label value comes from a fixed set: anything else is recorded as
 * "other"/"Other". A label never holds a Secret, CR or vault secret name, so a
 * value pasted into the wrong field cannot reach /metrics, and cardinality stays
 * bounded with thousands of CRs.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReflectorObserver, WatchEndReason } from '../controller/watch.js';

export const RECONCILE_RESULTS = ['pushed', 'uptodate', 'deleted', 'gone', 'failed', 'blocked'] as const;
export type ReconcileResultLabel = (typeof RECONCILE_RESULTS)[number];

/** Ready reasons and error kinds the reconciler reports; anything else becomes "Other". */
export const RECONCILE_REASONS = [
  'Synced',
  'Created',
  'UpToDate',
  'Deleted',
  'InvalidSpec',
  'SecretNotFound',
  'KeyNotFound',
  'EmptyValue',
  'InvalidValue',
  'Conflict',
  'ConnectionNotFound',
  'ConnectionInvalid',
  'Unauthorized',
  'Forbidden',
  'RateLimited',
  'VaultUnavailable',
  'VaultRejected',
  'VaultSecretNotFound',
  'KubernetesApiError',
  'KubernetesApi',
  'Aborted',
  'None',
] as const;

export const VAULT_OPERATIONS = ['create', 'update', 'delete', 'list'] as const;
export type VaultOperationLabel = (typeof VAULT_OPERATIONS)[number];

/** Resources the operator watches. */
export const WATCHED_RESOURCES = ['mixpeeksecrets', 'secrets', 'leases'] as const;

const WATCH_END_REASONS: readonly WatchEndReason[] = ['closed', 'idle', 'gone', 'error'];
const WATCH_EVENT_TYPES = ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK'] as const;

function pick(value: string | undefined, allowed: readonly string[], fallback: string): string {
  return value !== undefined && allowed.includes(value) ? value : fallback;
}

/** The operator's controllers; a name outside this set is recorded as "other". */
export const CONTROLLERS = ['mixpeeksecret'] as const;

function controllerLabel(name: string): string {
  return pick(name, CONTROLLERS, 'other');
}

/** 2xx/3xx/4xx/5xx from an HTTP status; "network" when no answer came. */
export function statusClass(status: number | undefined): string {
  if (status === undefined || !Number.isInteger(status) || status < 100 || status > 599) return 'network';
  return `${Math.floor(status / 100)}xx`;
}

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** One reconcile finished. `seconds` is its wall time. */
  reconcileDone(controller: string, result: string, reason: string | undefined, seconds: number): void;
  /** One HTTP attempt against the vault; `status` undefined for a network failure or timeout. */
  vaultRequest(operation: string, status: number | undefined, seconds?: number): void;
  vaultRetry(operation: string): void;
  setQueueDepth(controller: string, depth: number): void;
  setInFlight(controller: string, count: number): void;
  setLeader(isLeader: boolean): void;
  leaderTransition(): void;
  /** A push (or a confirmation that the vault is current) succeeded now. */
  syncSucceeded(at?: Date): void;
  /** Hooks a reflector calls; counts restarts, relists and events for `resource`. */
  reflectorObserver(resource: string): ReflectorObserver;
  /** The exposition text for /metrics. */
  text(): Promise<string>;
}

export interface MetricsOptions {
  /** Process metrics (CPU, memory, event loop lag, GC); default true. */
  processMetrics?: boolean;
  /** Prefix for every metric name; default "mixpeek_operator_". */
  prefix?: string;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const p = options.prefix ?? 'mixpeek_operator_';
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: p });
  const registers = [registry];

  const reconcileTotal = new Counter({
    name: `${p}reconcile_total`,
    help: 'Reconciles finished, by controller, result and reason.',
    labelNames: ['controller', 'result', 'reason'] as const,
    registers,
  });
  const reconcileDuration = new Histogram({
    name: `${p}reconcile_duration_seconds`,
    help: 'Wall time of one reconcile, including vault and API calls.',
    labelNames: ['controller', 'result'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const vaultRequests = new Counter({
    name: `${p}vault_requests_total`,
    help: 'HTTP attempts against the Mixpeek vault, by operation and status class.',
    labelNames: ['operation', 'status_class'] as const,
    registers,
  });
  const vaultDuration = new Histogram({
    name: `${p}vault_request_duration_seconds`,
    help: 'Duration of one HTTP attempt against the vault.',
    labelNames: ['operation'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const vaultRetries = new Counter({
    name: `${p}vault_retries_total`,
    help: 'Vault requests retried after a 429, 5xx, reset or timeout.',
    labelNames: ['operation'] as const,
    registers,
  });
  const queueDepth = new Gauge({
    name: `${p}workqueue_depth`,
    help: 'Keys waiting in the work queue.',
    labelNames: ['controller'] as const,
    registers,
  });
  const inFlight = new Gauge({
    name: `${p}workqueue_in_flight`,
    help: 'Reconciles running now.',
    labelNames: ['controller'] as const,
    registers,
  });
  const watchEnds = new Counter({
    name: `${p}watch_restarts_total`,
    help: 'Watches that ended and were started again, by resource and why they ended.',
    labelNames: ['resource', 'reason'] as const,
    registers,
  });
  const watchLists = new Counter({
    name: `${p}watch_lists_total`,
    help: 'LISTs by reflectors: the initial one and relists after 410 Gone or a failure.',
    labelNames: ['resource', 'kind'] as const,
    registers,
  });
  const watchEvents = new Counter({
    name: `${p}watch_events_total`,
    help: 'Watch events received, by resource and type.',
    labelNames: ['resource', 'type'] as const,
    registers,
  });
  const leader = new Gauge({
    name: `${p}leader`,
    help: '1 while this replica holds the leader lease, else 0.',
    registers,
  });
  const leaderTransitions = new Counter({
    name: `${p}leader_transitions_total`,
    help: 'Times this replica became or stopped being the leader.',
    registers,
  });
  const lastSync = new Gauge({
    name: `${p}last_successful_sync_timestamp_seconds`,
    help: 'Unix time of the last successful reconcile that confirmed or pushed a vault secret.',
    registers,
  });
  leader.set(0);

  const results: readonly string[] = RECONCILE_RESULTS;
  const reasons: readonly string[] = RECONCILE_REASONS;
  const operations: readonly string[] = VAULT_OPERATIONS;
  const resources: readonly string[] = WATCHED_RESOURCES;
  const eventTypes: readonly string[] = WATCH_EVENT_TYPES;

  return {
    registry,
    contentType: registry.contentType,
    reconcileDone(controller, result, reason, seconds) {
      const c = controllerLabel(controller);
      const r = pick(result.toLowerCase(), results, 'other');
      reconcileTotal.inc({ controller: c, result: r, reason: pick(reason ?? 'None', reasons, 'Other') });
      if (Number.isFinite(seconds) && seconds >= 0) reconcileDuration.observe({ controller: c, result: r }, seconds);
    },
    vaultRequest(operation, status, seconds) {
      const op = pick(operation, operations, 'other');
      vaultRequests.inc({ operation: op, status_class: statusClass(status) });
      if (seconds !== undefined && Number.isFinite(seconds) && seconds >= 0) vaultDuration.observe({ operation: op }, seconds);
    },
    vaultRetry(operation) {
      vaultRetries.inc({ operation: pick(operation, operations, 'other') });
    },
    setQueueDepth(controller, depth) {
      queueDepth.set({ controller: controllerLabel(controller) }, depth);
    },
    setInFlight(controller, count) {
      inFlight.set({ controller: controllerLabel(controller) }, count);
    },
    setLeader(isLeader) {
      leader.set(isLeader ? 1 : 0);
    },
    leaderTransition() {
      leaderTransitions.inc();
    },
    syncSucceeded(at = new Date()) {
      lastSync.set(at.getTime() / 1000);
    },
    reflectorObserver(resource) {
      const res = pick(resource, resources, 'other');
      return {
        watchEnded: (reason) => watchEnds.inc({ resource: res, reason: pick(reason, WATCH_END_REASONS, 'other') }),
        listed: (kind) => watchLists.inc({ resource: res, kind }),
        event: (type) => watchEvents.inc({ resource: res, type: pick(type, eventTypes, 'other') }),
      };
    },
    text: () => registry.metrics(),
  };
}
