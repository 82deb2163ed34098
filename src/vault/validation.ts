import { ApiError } from './api-error.js';

/**
 * Request validation shaped like the real API's (FastAPI + pydantic): a 422
 * whose details list `{type, loc, msg, input, ctx?}` per problem, where
 * `input` is what was submitted — on a create without a name that is the
 * whole body, secret value included. The vault client must cope with that.
 */

export const SECRET_NAME_MAX = 100;

export interface ValidationIssue {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

export interface CreateBody {
  secret_name: string;
  secret_value: string;
}

export interface UpdateBody {
  secret_value: string;
}

function fail(issues: ValidationIssue[]): ApiError {
  // The message names fields and rules only; inputs stay in details.
  const summary = issues.map((i) => `${i.loc.join('.')}: ${i.msg}`).join('; ');
  return new ApiError(422, 'ValidationError', `Request validation failed: ${summary}`, issues);
}

function checkString(
  issues: ValidationIssue[],
  loc: (string | number)[],
  input: unknown,
  present: boolean,
  whole: unknown,
  max?: number,
): void {
  if (!present) {
    issues.push({ type: 'missing', loc, msg: 'Field required', input: whole });
  } else if (typeof input !== 'string') {
    issues.push({ type: 'string_type', loc, msg: 'Input should be a valid string', input });
  } else if (input === '') {
    issues.push({ type: 'string_too_short', loc, msg: 'String should have at least 1 character', input, ctx: { min_length: 1 } });
  } else if (max !== undefined && codePoints(input) > max) {
    issues.push({ type: 'string_too_long', loc, msg: `String should have at most ${max} characters`, input, ctx: { max_length: max } });
  }
}

/** Characters as pydantic (Python's len) and the vault client count them: code points, not UTF-16 units. */
function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

/** Parses a request body that must be a JSON object. */
function parseObject(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) throw fail([{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    // V8's parse message quotes the input; pydantic reports no input here either.
    throw fail([{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error', input: {}, ctx: { error: 'Invalid JSON' } }]);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw fail([
      {
        type: 'model_attributes_type',
        loc: ['body'],
        msg: 'Input should be a valid dictionary or object to extract fields from',
        input: parsed,
      },
    ]);
  }
  return parsed as Record<string, unknown>;
}

export function parseCreateBody(raw: Buffer): CreateBody {
  const body = parseObject(raw);
  const issues: ValidationIssue[] = [];
  checkString(issues, ['body', 'secret_name'], body.secret_name, Object.hasOwn(body, 'secret_name'), body, SECRET_NAME_MAX);
  checkString(issues, ['body', 'secret_value'], body.secret_value, Object.hasOwn(body, 'secret_value'), body);
  if (issues.length > 0) throw fail(issues);
  return { secret_name: body.secret_name as string, secret_value: body.secret_value as string };
}

export function parseUpdateBody(raw: Buffer): UpdateBody {
  const body = parseObject(raw);
  const issues: ValidationIssue[] = [];
  checkString(issues, ['body', 'secret_value'], body.secret_value, Object.hasOwn(body, 'secret_value'), body);
  if (issues.length > 0) throw fail(issues);
  return { secret_value: body.secret_value as string };
}

/** A name from the URL path, already percent-decoded. */
export function checkPathName(name: string): void {
  const issues: ValidationIssue[] = [];
  checkString(issues, ['path', 'secret_name'], name, true, name, SECRET_NAME_MAX);
  if (issues.length > 0) throw fail(issues);
}
