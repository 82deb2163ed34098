import { ApiError } from './api-error.js';
import type { ApiKeyRole } from './keys.js';
import type { RouteMatch } from './routes.js';
import type { SecretStore } from './store.js';
import { checkPathName, parseCreateBody, parseUpdateBody, type ValidationIssue } from './validation.js';
import type { VaultWrite } from './write-log.js';


export interface Caller {
  key: string;
  role: ApiKeyRole;
}

export interface OperationResult {
  status: number;
  body: unknown;
  outcome: string;
  name?: string;
}

export interface OperationContext {
  store: SecretStore;
  /** Called for each mutating request that reached the store, in arrival order; the record may be amended (status) until the request ends. */
  recordWrite(write: Omit<VaultWrite, 'seq'>): VaultWrite;
}

/** Runs one API operation whose route, caller and content type are already checked. @throws ApiError */
export async function runOperation(
  match: RouteMatch,
  body: Buffer,
  caller: Caller,
  ctx: OperationContext,
): Promise<OperationResult> {
  switch (match.op) {
    case 'list': {
      const secrets = ctx.store.names();
      return { status: 200, body: { secrets, count: secrets.length }, outcome: 'listed' };
    }
    case 'create': {
      const { secret_name: name, secret_value: value } = parseCreateBody(body);
      if (ctx.store.create(name, value) === 'exists') {
        ctx.recordWrite({ op: 'create', name, apiKey: caller.key, status: 409 });
        throw new ApiError(409, 'AlreadyExistsError', `Secret '${name}' already exists`);
      }
      const write = ctx.recordWrite({ op: 'create', name, value, apiKey: caller.key, status: 200 });
      await persist(ctx, write);
      return { status: 200, body: { secret_name: name, created: true, updated: null, deleted: null }, outcome: 'created', name };
    }
    case 'update': {
      const name = pathName(match);
      const { secret_value: value } = parseUpdateBody(body);
      if (ctx.store.update(name, value) === 'missing') {
        ctx.recordWrite({ op: 'update', name, apiKey: caller.key, status: 404 });
        throw new ApiError(404, 'NotFoundError', `Secret '${name}' not found`);
      }
      const write = ctx.recordWrite({ op: 'update', name, value, apiKey: caller.key, status: 200 });
      await persist(ctx, write);
      return { status: 200, body: { secret_name: name, created: null, updated: true, deleted: null }, outcome: 'updated', name };
    }
    case 'delete': {
      const name = pathName(match);
      const applied = ctx.store.delete(name);
      const write = ctx.recordWrite({ op: 'delete', name, apiKey: caller.key, status: applied === 'deleted' ? 200 : 404 });
      if (applied === 'missing') throw new ApiError(404, 'NotFoundError', `Secret '${name}' not found`);
      await persist(ctx, write);
      return { status: 200, body: { secret_name: name, created: null, updated: null, deleted: true }, outcome: 'deleted', name };
    }
  }
}

function pathName(match: RouteMatch): string {
  if (match.name === undefined) {
    const issue: ValidationIssue = { type: 'string_type', loc: ['path', 'secret_name'], msg: 'Input should be a valid percent-encoded string', input: match.rawName ?? '' };
    throw new ApiError(422, 'ValidationError', 'Request validation failed: path.secret_name: invalid percent-encoding', [issue]);
  }
  checkPathName(match.name);
  return match.name;
}

async function persist(ctx: OperationContext, write: VaultWrite): Promise<void> {
  try {
    await ctx.store.flush();
  } catch {
    write.status = 500;
    throw new ApiError(500, 'InternalServerError', 'The vault could not save the change');
  }
}
