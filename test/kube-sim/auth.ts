/**
 * Authentication by bearer token and impersonation, as the apiserver does it for `kubectl --as`.
 * Members of system:masters bypass authorization, like the real cluster-admin group.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { serviceAccountUser, SYSTEM_MASTERS, type UserInfo } from './rbac.js';

export const ADMIN_USER: UserInfo = { username: 'kube-sim-admin', groups: ['system:masters', 'system:authenticated'] };


export function isSuperuser(user: UserInfo): boolean {
  return user.groups.includes(SYSTEM_MASTERS);
}

export class TokenAuthenticator {
  private readonly tokens = new Map<string, UserInfo>();
  readonly adminToken: string;

  constructor() {
    this.adminToken = `admin-${randomBytes(16).toString('hex')}`;
    this.tokens.set(this.adminToken, ADMIN_USER);
  }

  addToken(token: string, user: UserInfo): void {
    const groups = user.groups.includes('system:authenticated') ? user.groups : [...user.groups, 'system:authenticated'];
    this.tokens.set(token, { username: user.username, groups });
  }

  serviceAccountToken(namespace: string, name: string): string {
    const token = `sa-${namespace}-${name}-${randomBytes(8).toString('hex')}`;
    this.tokens.set(token, serviceAccountUser(namespace, name));
    return token;
  }

  authenticate(header: string | undefined): UserInfo | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    return m?.[1] ? this.tokens.get(m[1]) : undefined;
  }
}

export interface ImpersonationRequest {
  username: string;
  groups: string[];
}

/** The Impersonate-User / Impersonate-Group headers, if present. */
export function impersonationOf(headers: IncomingHttpHeaders, distinct: NodeJS.Dict<string[]>): ImpersonationRequest | undefined {
  const user = headers['impersonate-user'];
  if (typeof user !== 'string' || user === '') return undefined;
  return { username: user, groups: distinct['impersonate-group'] ?? [] };
}

/** The user the apiserver evaluates when impersonating: service accounts get their groups, everyone system:authenticated. */
export function impersonatedUser(req: ImpersonationRequest): UserInfo {
  const groups = [...req.groups];
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(req.username);
  if (sa && groups.length === 0) groups.push(...serviceAccountUser(sa[1] ?? '', sa[2] ?? '').groups);
  if (!groups.includes('system:authenticated')) groups.push('system:authenticated');
  return { username: req.username, groups };
}
