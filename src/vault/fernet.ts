import { Fernet } from 'fernet-nodejs';

/**
 * Fernet (github.com/fernet/spec) through fernet-nodejs, which uses node:crypto
 * and rejects malformed tokens. No TTL is applied: tokens here are data at
 * rest, not short-lived credentials.
 */

export class EncryptionKeyError extends Error {
  readonly kind = 'InvalidEncryptionKey' as const;
  constructor(where: string) {
    // Never repeat the key itself.
    super(`${where} must be 32 bytes encoded as url-safe base64 (44 characters)`);
    this.name = 'EncryptionKeyError';
  }
}

export class FernetTokenError extends Error {
  readonly kind = 'InvalidToken' as const;
  constructor() {
    super('Fernet token is invalid or was made with another key');
    this.name = 'FernetTokenError';
  }
}

export function isValidEncryptionKey(key: string): boolean {
  try {
    Fernet.checkKey(key);
    return true;
  } catch {
    return false;
  }
}

/** 32 random bytes, url-safe base64 with padding, as Python's cryptography writes keys. */
export function generateEncryptionKey(): string {
  return Fernet.generateKey();
}

export class FernetCipher {
  private readonly fernet: Fernet;

  /** @param where names the key's origin in the error, e.g. "ENCRYPTION_KEY". */
  constructor(key: string, where = 'the encryption key') {
    if (!isValidEncryptionKey(key)) throw new EncryptionKeyError(where);
    this.fernet = new Fernet(key);
  }

  encrypt(plaintext: string): string {
    return this.fernet.encrypt(plaintext);
  }

  /** @throws FernetTokenError for a malformed token, a bad signature or bad padding. */
  decrypt(token: string): string {
    try {
      return this.fernet.decrypt(token);
    } catch {
      throw new FernetTokenError();
    }
  }
}
