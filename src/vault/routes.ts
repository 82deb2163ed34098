import type { ApiKeyRole } from './keys.js';
import type { VaultOperation } from './faults.js';

/** The four routes of the Mixpeek Organization Secrets API. */

const COLLECTION = '/v1/organizations/secrets';
const ITEM_PREFIX = `${COLLECTION}/`;

export interface RouteMatch {
  kind: 'match';
  op: VaultOperation;
  /** The route template, as audit lines and rate limits name it. */
  route: string;
  /** The role a key needs. */
  role: ApiKeyRole;
  /** From the path, percent-decoded; undefined when the path did not decode. */
  name?: string;
  /** The raw path segment, kept when decoding failed so the 422 can echo it. */
  rawName?: string;
}

export type RouteResult = RouteMatch | { kind: 'method-not-allowed'; allow: string } | { kind: 'not-found' };

export function matchRoute(method: string, pathname: string): RouteResult {
  if (pathname === COLLECTION) {
    if (method === 'GET') return { kind: 'match', op: 'list', route: `GET ${COLLECTION}`, role: 'READ' };
    if (method === 'POST') return { kind: 'match', op: 'create', route: `POST ${COLLECTION}`, role: 'ADMIN' };
    return { kind: 'method-not-allowed', allow: 'GET, POST' };
  }
  if (pathname.startsWith(ITEM_PREFIX)) {
    const rawName = pathname.slice(ITEM_PREFIX.length);
    if (rawName === '' || rawName.includes('/')) return { kind: 'not-found' };
    let op: VaultOperation;
    if (method === 'PUT') op = 'update';
    else if (method === 'DELETE') op = 'delete';
    else return { kind: 'method-not-allowed', allow: 'PUT, DELETE' };
    const match: RouteMatch = { kind: 'match', op, route: `${method} ${COLLECTION}/{secret_name}`, role: 'ADMIN', rawName };
    try {
      match.name = decodeURIComponent(rawName);
    } catch {
      // left undefined: the handler answers 422
    }
    return match;
  }
  return { kind: 'not-found' };
}
