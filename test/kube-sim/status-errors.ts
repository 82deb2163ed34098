/**
 * Errors answered as the apiserver answers them: a meta/v1 Status with reason, details and code.
 * Handlers throw ApiError; the server turns it into the response body.
 */
export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'Forbidden'
  | 'Unauthorized'
  | 'Gone'
  | 'Expired'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable';

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: StatusReason;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  readonly kind: StatusReason;
  constructor(
    readonly code: number,
    reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.kind = reason;
    this.name = 'ApiError';
  }

  toStatus(): StatusBody {
    const body: StatusBody = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.kind,
      code: this.code,
    };
    if (this.details) body.details = this.details;
    return body;
  }
}

/** The "qualified resource" the apiserver prints: `secrets`, `mixpeeksecrets.mixpeek.com`. */
export interface QualifiedResource {
  group: string;
  resource: string;
}

function qualified(r: QualifiedResource): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

function detailsFor(r: QualifiedResource, name: string | undefined): StatusDetails {
  const d: StatusDetails = { kind: r.resource };
  if (name !== undefined && name !== '') d.name = name;
  if (r.group) d.group = r.group;
  return d;
}

export function notFound(r: QualifiedResource, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualified(r)} "${name}" not found`, detailsFor(r, name));
}

export function alreadyExists(r: QualifiedResource, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, detailsFor(r, name));
}

export function conflict(r: QualifiedResource, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, detailsFor(r, name));
}

/** 422 Invalid; `kindGroup` is `Kind.group` as the apiserver prints it (e.g. `MixpeekSecret.mixpeek.com`). */
export function invalid(kindGroup: string, group: string, kind: string, name: string, causes: StatusCause[]): ApiError {
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const shown = list.length === 1 ? (list[0] ?? '') : `[${list.join(', ')}]`;
  const details: StatusDetails = { name, kind, causes };
  if (group) details.group = group;
  return new ApiError(422, 'Invalid', `${kindGroup} "${name}" is invalid: ${shown}`, details);
}

export function forbidden(r: QualifiedResource, name: string | undefined, reason: string): ApiError {
  const subject = name ? `${qualified(r)} "${name}"` : qualified(r);
  return new ApiError(403, 'Forbidden', `${subject} is forbidden: ${reason}`, detailsFor(r, name));
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized');
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function methodNotAllowed(message = 'the server does not allow this method on the requested resource'): ApiError {
  return new ApiError(405, 'MethodNotAllowed', message);
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got ${contentType})`);
}

export function tooOldResourceVersion(requested: string, oldest: string, reason: 'Gone' | 'Expired'): ApiError {
  return new ApiError(410, reason, `too old resource version: ${requested} (${oldest})`);
}

export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`);
}

/** A plain 404 for paths that name no resource at all (the apiserver answers `the server could not find the requested resource`). */
export function pathNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}

/** Status reasons for the fault injector's canned failures. */
export function injected(code: number, retryAfterSeconds?: number): ApiError {
  switch (code) {
    case 429:
      return new ApiError(429, 'TooManyRequests', 'Too many requests, please try again later.', retryAfterSeconds !== undefined ? { retryAfterSeconds } : undefined);
    case 409:
      return new ApiError(409, 'Conflict', 'Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again (injected)');
    case 503:
      return new ApiError(503, 'ServiceUnavailable', 'The service is unavailable (injected)');
    default:
      return new ApiError(code, 'InternalError', 'Internal error occurred: injected failure');
  }
}
