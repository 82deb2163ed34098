import { open, readFile } from 'node:fs/promises';
import { EncryptionKeyError, generateEncryptionKey, isValidEncryptionKey } from './fernet.js';
import { VaultStartError } from './errors.js';

export type ApiKeyRole = 'ADMIN' | 'READ';

export interface ApiKey {
  key: string;
  role: ApiKeyRole;
}

/** `KEY:ROLE` as given to --api-key; the role after the last colon. The message never repeats the key. */
export function parseApiKeySpec(spec: string): ApiKey {
  const at = spec.lastIndexOf(':');
  const key = at > 0 ? spec.slice(0, at).trim() : '';
  const role = at > 0 ? spec.slice(at + 1).trim().toUpperCase() : '';
  if (key === '' || (role !== 'ADMIN' && role !== 'READ')) {
    throw new Error('expected KEY:ROLE with ROLE ADMIN or READ');
  }
  return { key, role };
}

/** ADMIN may call every route; READ only the list. */
export function roleAllows(role: ApiKeyRole, needed: ApiKeyRole): boolean {
  return role === 'ADMIN' || needed === 'READ';
}

export class ApiKeyRing {
  private readonly roles: ReadonlyMap<string, ApiKeyRole>;

  constructor(keys: readonly ApiKey[]) {
    this.roles = new Map(keys.map((k) => [k.key, k.role]));
  }

  /** The key and role of the bearer token in an Authorization header; undefined for none or an unknown one. */
  callerOf(authorization: string | undefined): { key: string; role: ApiKeyRole } | undefined {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const key = m?.[1];
    if (key === undefined) return undefined;
    const role = this.roles.get(key);
    return role === undefined ? undefined : { key, role };
  }
}

export function keyFileFor(dataFile: string): string {
  return `${dataFile}.key`;
}

export interface ResolvedEncryptionKey {
  key: string;
  /** Where it came from, for the start-up log line: ENCRYPTION_KEY, the key file, a new key file, or a per-process key. */
  source: 'given' | 'key-file' | 'generated' | 'ephemeral';
  /** The key file read or created (key-file, generated). */
  keyFile?: string;
}

/**
 * The key the store encrypts with: the given one; else, with a data file,
 * the key file beside it (created 0600 on first start, reused after);
 * else a random key that lives as long as the process (in-memory vault).
 */
export async function resolveEncryptionKey(options: {
  encryptionKey?: string | undefined;
  dataFile?: string | undefined;
  dataFileExists: boolean;
}): Promise<ResolvedEncryptionKey> {
  if (options.encryptionKey !== undefined) {
    if (!isValidEncryptionKey(options.encryptionKey)) {
      throw new VaultStartError('InvalidEncryptionKey', new EncryptionKeyError('ENCRYPTION_KEY').message);
    }
    return { key: options.encryptionKey, source: 'given' };
  }
  if (options.dataFile === undefined) return { key: generateEncryptionKey(), source: 'ephemeral' };

  const keyFile = keyFileFor(options.dataFile);
  let stored: string | undefined;
  try {
    stored = (await readFile(keyFile, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new VaultStartError('DataFileIO', `cannot read key file ${keyFile}: ${(err as Error).message}`);
    }
  }
  if (stored !== undefined) {
    if (!isValidEncryptionKey(stored)) {
      throw new VaultStartError('InvalidEncryptionKey', new EncryptionKeyError(`the key in ${keyFile}`).message);
    }
    return { key: stored, source: 'key-file', keyFile };
  }
  if (options.dataFileExists) {
    // A fresh key could never read the existing file: say so instead of failing later on every token.
    throw new VaultStartError(
      'MissingEncryptionKey',
      `data file ${options.dataFile} exists but no ENCRYPTION_KEY was given and ${keyFile} is missing`,
    );
  }
  const key = generateEncryptionKey();
  // 'wx': never overwrite a key another process just wrote.
  try {
    const handle = await open(keyFile, 'wx', 0o600);
    try {
      await handle.writeFile(`${key}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new VaultStartError('DataFileIO', `cannot create key file ${keyFile}: ${(err as Error).message}`);
  }
  return { key, source: 'generated', keyFile };
}
