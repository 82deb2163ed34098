/** The four API operations, as fault rules and audit lines name them. */
export type VaultOperation = 'create' | 'update' | 'delete' | 'list';

export const VAULT_OPERATIONS: readonly VaultOperation[] = ['create', 'update', 'delete', 'list'];

export interface FailNextOptions {
  /** Sent as Retry-After (seconds) with the failure. */
  retryAfterSeconds?: number;
  /** Only requests to this operation fail (and count); others pass. */
  route?: VaultOperation;
}

/** Fault injection for tests and benchmarks. Nothing is injected until asked. */
export interface VaultFaults {
  /** The next n API requests (matching opts.route, if given) answer `status` in the error envelope. */
  failNext(n: number, status: number, opts?: FailNextOptions): void;
  /** Every API request waits this long before it is handled; 0 turns it off. */
  setLatency(ms: number): void;
  /** The next n API requests have their connection destroyed without an answer. */
  resetNextConnections(n: number): void;
  clear(): void;
}

export interface InjectedFailure {
  status: number;
  retryAfterSeconds?: number;
}

interface FailRule extends InjectedFailure {
  remaining: number;
  route?: VaultOperation;
}

export class FaultPlan implements VaultFaults {
  private rules: FailRule[] = [];
  private latency = 0;
  private resets = 0;

  failNext(n: number, status: number, opts: FailNextOptions = {}): void {
    if (!Number.isInteger(n) || n < 0) throw new RangeError('failNext: n must be a non-negative integer');
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new RangeError('failNext: status must be 400-599');
    if (n === 0) return;
    const rule: FailRule = { remaining: n, status };
    if (opts.retryAfterSeconds !== undefined) rule.retryAfterSeconds = opts.retryAfterSeconds;
    if (opts.route !== undefined) rule.route = opts.route;
    this.rules.push(rule);
  }

  setLatency(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('setLatency: ms must be >= 0');
    this.latency = ms;
  }

  resetNextConnections(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new RangeError('resetNextConnections: n must be a non-negative integer');
    this.resets = n;
  }

  clear(): void {
    this.rules = [];
    this.latency = 0;
    this.resets = 0;
  }

  latencyMs(): number {
    return this.latency;
  }

  /** Consumes one pending connection reset, if any. */
  takeReset(): boolean {
    if (this.resets === 0) return false;
    this.resets -= 1;
    return true;
  }

  /** Consumes one failure that applies to this operation (undefined: an unknown route), if any. */
  takeFailure(op: VaultOperation | undefined): InjectedFailure | undefined {
    const rule = this.rules.find((r) => r.remaining > 0 && (r.route === undefined || r.route === op));
    if (!rule) return undefined;
    rule.remaining -= 1;
    this.rules = this.rules.filter((r) => r.remaining > 0);
    const { status, retryAfterSeconds } = rule;
    return retryAfterSeconds === undefined ? { status } : { status, retryAfterSeconds };
  }
}
