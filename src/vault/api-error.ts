/**
 * The Mixpeek error envelope: `{"success": false, "status": n, "error": {"message", "type", "details"}}`.
 * Handlers throw ApiError; the server renders it. Messages never hold a
 * secret value; `details` may, on a 422, exactly as the real API echoes input.
 */

export type ApiErrorType =
  | 'ValidationError'
  | 'NotFoundError'
  | 'AlreadyExistsError'
  | 'UnauthorizedError'
  | 'TooManyRequestsError'
  | 'PayloadTooLargeError'
  | 'UnsupportedMediaTypeError'
  | 'MethodNotAllowedError'
  | 'BadRequestError'
  | 'InternalServerError'
  | 'BadGatewayError'
  | 'ServiceUnavailableError'
  | 'GatewayTimeoutError'
  | 'Error';

export interface ErrorEnvelope {
  success: false;
  status: number;
  error: { message: string; type: ApiErrorType; details: unknown };
}

export class ApiError extends Error {
  /** What the audit line reports as the outcome, e.g. `not_found`. */
  readonly outcome: string;

  constructor(
    readonly status: number,
    readonly type: ApiErrorType,
    message: string,
    readonly details: unknown = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.outcome = OUTCOME_BY_STATUS[status] ?? 'error';
  }

  envelope(): ErrorEnvelope {
    return { success: false, status: this.status, error: { message: this.message, type: this.type, details: this.details } };
  }
}

const OUTCOME_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'already_exists',
  413: 'too_large',
  415: 'unsupported_media_type',
  422: 'invalid',
  429: 'rate_limited',
  503: 'unavailable',
};

const TYPE_BY_STATUS: Readonly<Record<number, ApiErrorType>> = {
  400: 'BadRequestError',
  401: 'UnauthorizedError',
  // The vault answers a role that may not call a route 403 UnauthorizedError (DESIGN.md), and a taken name 409 AlreadyExistsError.
  403: 'UnauthorizedError',
  404: 'NotFoundError',
  405: 'MethodNotAllowedError',
  409: 'AlreadyExistsError',
  413: 'PayloadTooLargeError',
  415: 'UnsupportedMediaTypeError',
  422: 'ValidationError',
  429: 'TooManyRequestsError',
  500: 'InternalServerError',
  502: 'BadGatewayError',
  503: 'ServiceUnavailableError',
  504: 'GatewayTimeoutError',
};

/** The envelope type the vault itself uses for a status, so an injected failure looks like a real one. */
export function errorTypeForStatus(status: number): ApiErrorType {
  return TYPE_BY_STATUS[status] ?? 'Error';
}
