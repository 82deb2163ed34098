/**
 * Leader election on a coordination.k8s.io/v1 Lease, in the manner of
 * client-go's leaderelection:
 *
 * - A candidate takes the lease when it is absent, released (no holder), or
 *   expired. Expiry is judged on the local clock from when this process last
 *   saw the lease record change, never from the renewTime written by another
 *   machine, so clock skew between nodes cannot shorten a lease.
 * - Every write is conditional: create (409 → someone else won) or update
 *   with the read resourceVersion (409 → lost the race).
 * - The leader renews every retryPeriod; if no renewal succeeds for
 *   renewDeadline, or the lease shows another holder, it stops leading at once.
 * - On stop it awaits onStoppedLeading (the controller drains there) and then
 *   releases the lease (no holder, 1 s duration) so a successor takes over at
 *   its next retry instead of waiting out the lease.
 *
 * After losing the lease (not after stop) the elector becomes a candidate again.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { V1MicroTime, type CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../observability/log.js';
import { silentLogger } from '../observability/log.js';
import { KubeApiError, isConflict, isNotFound, makeKubeApis, toKubeApiError } from './kube.js';
import { delay } from './delay.js';

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** The Lease's name, e.g. "mixpeek-secret-operator". */
  name: string;
  /** Default: POD_NAME or the hostname, plus a random suffix. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Called when this process becomes the leader; `signal` aborts when it stops leading. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called when leadership ends (lost or stopped); awaited before the lease is released. */
  onStoppedLeading(): void | Promise<void>;
  /** Called when the observed holder changes ('' when the lease is free). */
  onNewLeader?(identity: string): void;
  /** Release the lease on stop; default true. */
  releaseOnCancel?: boolean;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface LeaderElector {
  readonly identity: string;
  isLeader(): boolean;
  /** The holder last observed on the lease ('' when free, undefined before the first read). */
  observedLeader(): string | undefined;
  /** Stops leading or campaigning, awaits onStoppedLeading, releases the lease; resolves when done. */
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

export class LeaderElectionConfigError extends Error {
  override readonly name = 'LeaderElectionConfigError';
  readonly kind = 'InvalidTiming';
}

/** Lease times as the API server writes MicroTime: microseconds, Z. */
export function toMicroTime(ms: number): V1MicroTime {
  return new V1MicroTime(ms);
}

export function defaultIdentity(): string {
  const base = process.env.POD_NAME || hostname();
  return `${base}_${randomBytes(4).toString('hex')}`;
}

type Attempt = 'acquired' | 'held-by-other' | 'failed';

export function startLeaderElection(options: LeaderElectionOptions): LeaderElector {
  const leaseDurationMs = options.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
  const retryPeriodMs = options.retryPeriodMs ?? 2_000;
  // client-go's own sanity rules: the leader must give up before others may take over.
  if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > retryPeriodMs * 1.2 && retryPeriodMs > 0)) {
    throw new LeaderElectionConfigError('leader election needs leaseDuration > renewDeadline > 1.2 × retryPeriod > 0');
  }
  return new Elector(options, { leaseDurationMs, renewDeadlineMs, retryPeriodMs });
}

interface Timing {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

class Elector implements LeaderElector {
  readonly identity: string;
  readonly done: Promise<void>;
  private readonly api: CoordinationV1Api;
  private readonly log: Logger;
  private readonly stopping = new AbortController();
  private leading = false;
  private observedKey: string | undefined;
  private observedAt = 0;
  private observedHolder: string | undefined;
  /** The lease as last read or written: a release updates it only while it names us. */
  private lastLease: V1Lease | undefined;

  constructor(
    private readonly options: LeaderElectionOptions,
    private readonly timing: Timing,
  ) {
    this.identity = options.identity ?? defaultIdentity();
    this.api = makeKubeApis(options.kubeConfig).coordination;
    this.log = (options.logger ?? silentLogger()).child({ component: 'leader-election', lease: `${options.namespace}/${options.name}`, identity: this.identity });
    const outer = options.signal;
    if (outer?.aborted) this.stopping.abort();
    else outer?.addEventListener('abort', () => this.stopping.abort(), { once: true });
    this.done = this.run();
  }

  isLeader(): boolean {
    return this.leading;
  }

  observedLeader(): string | undefined {
    return this.observedHolder;
  }

  stop(): Promise<void> {
    this.stopping.abort();
    return this.done;
  }

  private get signal(): AbortSignal {
    return this.stopping.signal;
  }

  private async run(): Promise<void> {
    while (!this.signal.aborted) {
      const acquired = await this.acquire();
      if (!acquired || this.signal.aborted) {
        // Stopped while campaigning. The lease may still name us (won just now,
        // or left from a term that ended on failed renewals): hand it back.
        if (this.options.releaseOnCancel ?? true) await this.release();
        return;
      }
      const term = new AbortController();
      this.leading = true;
      this.log.info('became the leader');
      try {
        const started = this.options.onStartedLeading(term.signal);
        if (started instanceof Promise) started.catch((err: unknown) => this.log.error({ err: errText(err) }, 'onStartedLeading failed'));
      } catch (err) {
        this.log.error({ err: errText(err) }, 'onStartedLeading failed');
      }
      await this.renewUntilLost();
      this.leading = false;
      term.abort();
      this.log.info({ stopping: this.signal.aborted }, 'stopped leading');
      try {
        await this.options.onStoppedLeading();
      } catch (err) {
        this.log.error({ err: errText(err) }, 'onStoppedLeading failed');
      }
      if (this.signal.aborted) {
        if (this.options.releaseOnCancel ?? true) await this.release();
        return;
      }
    }
  }

  /** Campaigns until the lease is ours (true) or we are stopped (false). */
  private async acquire(): Promise<boolean> {
    while (!this.signal.aborted) {
      const attempt = await this.tryAcquireOrRenew(this.timing.renewDeadlineMs);
      if (attempt === 'acquired') return true;
      // client-go jitters the campaign period by up to 20 %.
      await delay(this.timing.retryPeriodMs * (1 + Math.random() * 0.2), this.signal);
    }
    return false;
  }

  /** Returns when leadership is lost or we are stopped. */
  private async renewUntilLost(): Promise<void> {
    let lastRenew = Date.now();
    while (!this.signal.aborted) {
      await delay(this.timing.retryPeriodMs, this.signal);
      if (this.signal.aborted) return;
      const left = this.timing.renewDeadlineMs - (Date.now() - lastRenew);
      const attempt = left > 0 ? await this.tryAcquireOrRenew(left) : 'failed';
      if (attempt === 'acquired') {
        lastRenew = Date.now();
        continue;
      }
      if (attempt === 'held-by-other') {
        this.log.warn({ holder: this.observedHolder }, 'the lease has another holder; stepping down');
        return;
      }
      if (Date.now() - lastRenew >= this.timing.renewDeadlineMs) {
        this.log.warn({ renewDeadlineMs: this.timing.renewDeadlineMs }, 'could not renew the lease in time; stepping down');
        return;
      }
    }
  }

  private observe(lease: V1Lease, now: number): void {
    const s = lease.spec ?? {};
    const holder = s.holderIdentity ?? '';
    const key = JSON.stringify([holder, String(s.renewTime ?? ''), String(s.acquireTime ?? ''), s.leaseDurationSeconds, s.leaseTransitions]);
    if (key !== this.observedKey) {
      this.observedKey = key;
      this.observedAt = now;
    }
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (this.options.onNewLeader) {
        try {
          this.options.onNewLeader(holder);
        } catch (err) {
          this.log.error({ err: errText(err) }, 'onNewLeader failed');
        }
      }
    }
  }

  private spec(now: number, previous: V1Lease | undefined): V1Lease['spec'] {
    const prev = previous?.spec ?? {};
    const wasMine = prev.holderIdentity === this.identity;
    const transitions = prev.leaseTransitions ?? 0;
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.timing.leaseDurationMs / 1000),
      acquireTime: wasMine && prev.acquireTime ? toMicroTime(new Date(prev.acquireTime).getTime()) : toMicroTime(now),
      renewTime: toMicroTime(now),
      leaseTransitions: previous && !wasMine ? transitions + 1 : transitions,
    };
  }

  private async tryAcquireOrRenew(timeoutMs: number): Promise<Attempt> {
    try {
      return await withTimeout(this.attempt(), timeoutMs);
    } catch (err) {
      const e = toKubeApiError(err, 'lease');
      if (e.kind === 'Conflict') this.log.debug('lease write lost a race');
      else this.log.warn({ kind: e.kind, code: e.code }, 'lease request failed');
      return 'failed';
    }
  }

  private async attempt(): Promise<Attempt> {
    const { namespace, name } = this.options;
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const now = Date.now();
      try {
        this.lastLease = await this.api.createNamespacedLease({
          namespace,
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: this.spec(now, undefined) },
        });
      } catch (createErr) {
        if (isConflict(createErr)) return 'failed';
        throw createErr;
      }
      this.observe(this.lastLease, now);
      return 'acquired';
    }
    const now = Date.now();
    this.lastLease = lease;
    this.observe(lease, now);
    const holder = lease.spec?.holderIdentity ?? '';
    const durationMs = (lease.spec?.leaseDurationSeconds ?? Math.ceil(this.timing.leaseDurationMs / 1000)) * 1000;
    if (holder !== '' && holder !== this.identity && this.observedAt + durationMs > now) return 'held-by-other';
    // Stopping: a late attempt must not take the lease back after a release.
    if (this.signal.aborted && !this.leading) return 'failed';
    try {
      this.lastLease = await this.api.replaceNamespacedLease({ name, namespace, body: { ...lease, spec: this.spec(now, lease) } });
    } catch (err) {
      if (isConflict(err)) return 'failed';
      throw err;
    }
    this.observe(this.lastLease, now);
    return 'acquired';
  }

  private async release(): Promise<void> {
    const lease = this.lastLease;
    if (!lease?.metadata || lease.spec?.holderIdentity !== this.identity) return;
    const now = Date.now();
    try {
      await withTimeout(
        this.api.replaceNamespacedLease({
          name: this.options.name,
          namespace: this.options.namespace,
          body: {
            ...lease,
            spec: {
              ...lease.spec,
              holderIdentity: '',
              leaseDurationSeconds: 1,
              acquireTime: toMicroTime(now),
              renewTime: toMicroTime(now),
            },
          },
        }),
        this.timing.renewDeadlineMs,
      );
      this.log.info('released the lease');
    } catch (err) {
      const e = toKubeApiError(err, 'release lease');
      this.log.warn({ kind: e.kind, code: e.code }, 'could not release the lease; successors wait for it to expire');
    }
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message.slice(0, 200)}` : 'unknown error';
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new KubeApiError('Network', undefined, 'Timeout', 'lease')), Math.max(1, ms));
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
