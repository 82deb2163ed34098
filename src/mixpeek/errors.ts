/**
 * The one error the vault client throws for a failed call.
 *
 * Everything here is built from facts the client chose (operation, name,
 * status code, an identifier-shaped error type): never from the request body
 * or from text the server wrote. The real API's 422 echoes the submitted
 * input, i.e. the secret value, in `error.message` and `error.details`, so
 * any server-provided prose is treated as radioactive and dropped.
 */

export const VAULT_ERROR_KINDS = [
  'Unauthorized',
  'Forbidden',
  'NotFound',
  'AlreadyExists',
  'RateLimited',
  'Rejected',
  'Unavailable',
  'Timeout',
  'Aborted',
  'InvalidResponse',
] as const;

export type VaultErrorKind = (typeof VAULT_ERROR_KINDS)[number];

export type VaultOperation = 'create' | 'update' | 'delete' | 'list';

export interface VaultErrorInit {
  kind: VaultErrorKind;
  operation: VaultOperation;
  /** Why, in the client's own words (e.g. "422 ValidationError", "connection reset"). */
  reason: string;
  secretName?: string;
  status?: number;
  mixpeekType?: string;
  retryable?: boolean;
  retryAfterMs?: number;
  /** Requests sent for this call (0 when it failed before sending). */
  attempts?: number;
}

const MAX_NAME_IN_MESSAGE = 100;

function describeCall(operation: VaultOperation, secretName: string | undefined): string {
  if (secretName === undefined) return `vault ${operation}`;
  const shown = secretName.length > MAX_NAME_IN_MESSAGE ? `${secretName.slice(0, MAX_NAME_IN_MESSAGE)}…` : secretName;
  return `vault ${operation} of ${JSON.stringify(shown)}`;
}

export class VaultError extends Error {
  override readonly name = 'VaultError';
  readonly kind: VaultErrorKind;
  readonly operation: VaultOperation;
  readonly secretName?: string;
  readonly status?: number;
  readonly mixpeekType?: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly attempts: number;

  constructor(init: VaultErrorInit) {
    const tries = init.attempts !== undefined && init.attempts > 1 ? ` (after ${init.attempts} attempts)` : '';
    super(`${describeCall(init.operation, init.secretName)} failed: ${init.reason}${tries}`);
    this.kind = init.kind;
    this.operation = init.operation;
    if (init.secretName !== undefined) this.secretName = init.secretName;
    if (init.status !== undefined) this.status = init.status;
    if (init.mixpeekType !== undefined) this.mixpeekType = init.mixpeekType;
    this.retryable = init.retryable ?? false;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
    this.attempts = init.attempts ?? 0;
  }

  /** What a logger or `JSON.stringify` shows: the same safe fields plus the message. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      kind: this.kind,
      message: this.message,
      operation: this.operation,
      secretName: this.secretName,
      status: this.status,
      mixpeekType: this.mixpeekType,
      retryable: this.retryable,
      retryAfterMs: this.retryAfterMs,
      attempts: this.attempts,
    };
  }
}

export type VaultClientConfigErrorKind = 'InvalidUrl' | 'InsecureUrl' | 'InvalidOption';

/** A client that cannot be built from its options (bad URL, plain http to a remote host, nonsense numbers). */
export class VaultClientConfigError extends Error {
  override readonly name = 'VaultClientConfigError';
  readonly kind: VaultClientConfigErrorKind;
  constructor(kind: VaultClientConfigErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}
