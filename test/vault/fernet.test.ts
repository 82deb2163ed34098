import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EncryptionKeyError, FernetCipher, FernetTokenError, generateEncryptionKey, isValidEncryptionKey } from '../../src/vault/fernet.js';

interface GenerateVector { token: string; now: string; iv: number[]; src: string; secret: string }
interface VerifyVector { token: string; now: string; ttl_sec: number; src: string; secret: string }
interface InvalidVector { desc: string; token: string; now: string; ttl_sec: number; secret: string }

const load = <T>(file: string): T[] =>
  JSON.parse(readFileSync(new URL(`../fixtures/fernet-spec/${file}`, import.meta.url), 'utf8')) as T[];

// fernet-nodejs reads the IV from node:crypto's randomBytes and the time from Date.now at each call,
// so pinning both on the shared CommonJS module object fixes the token it makes.
const nodeCrypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');

/** Invalid only under a TTL check against `now`; tokens at rest have no TTL. */
const TTL_ONLY = new Set(['far-future TS (unacceptable clock skew)', 'expired TTL']);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Fernet spec vectors through FernetCipher (fernet-nodejs)', () => {
  it.each(load<GenerateVector>('generate.json'))('generate: fixed IV and time give the exact token for "$src"', (v) => {
    vi.spyOn(Date, 'now').mockReturnValue(Date.parse(v.now));
    const spy = vi.spyOn(nodeCrypto, 'randomBytes').mockImplementation((size: number) => {
      expect(size).toBe(16);
      return Buffer.from(v.iv);
    });
    expect(new FernetCipher(v.secret).encrypt(v.src)).toBe(v.token);
    expect(spy).toHaveBeenCalled();
  });

  it.each(load<VerifyVector>('verify.json'))('verify: the token decrypts to "$src"', (v) => {
    expect(new FernetCipher(v.secret).decrypt(v.token)).toBe(v.src);
  });

  const invalid = load<InvalidVector>('invalid.json');
  it('the invalid vectors hold the two TTL cases this test treats specially', () => {
    expect(invalid.filter((v) => TTL_ONLY.has(v.desc))).toHaveLength(2);
  });

  it.each(invalid.filter((v) => !TTL_ONLY.has(v.desc)))('invalid: rejects "$desc"', (v) => {
    expect(() => new FernetCipher(v.secret).decrypt(v.token)).toThrow(FernetTokenError);
  });

  // TTL and clock skew do not apply at rest: the vault stores tokens for as long as the secret lives,
  // so these two decrypt (their MAC and padding are valid; only their timestamps are "wrong";
  // the spec made both from an empty plaintext).
  it.each(invalid.filter((v) => TTL_ONLY.has(v.desc)))('no TTL at rest: "$desc" decrypts', (v) => {
    expect(new FernetCipher(v.secret).decrypt(v.token)).toBe('');
  });
});

describe('FernetCipher', () => {
  it('round-trips unicode and long values with a generated key, a fresh IV every time', () => {
    const cipher = new FernetCipher(generateEncryptionKey());
    const value = `pässwörd-🔑-${'x'.repeat(10_000)}`;
    const a = cipher.encrypt(value);
    const b = cipher.encrypt(value);
    expect(a).not.toBe(b);
    expect(cipher.decrypt(a)).toBe(value);
    expect(a).not.toContain('pässwörd');
  });

  it('rejects a token made with another key', () => {
    const token = new FernetCipher(generateEncryptionKey()).encrypt('v');
    expect(() => new FernetCipher(generateEncryptionKey()).decrypt(token)).toThrow(FernetTokenError);
  });

  it('accepts only 32-byte url-safe base64 keys, and never repeats the key in the error', () => {
    expect(isValidEncryptionKey(generateEncryptionKey())).toBe(true);
    const bad = Buffer.alloc(16, 7).toString('base64url');
    expect(isValidEncryptionKey(bad)).toBe(false);
    expect(isValidEncryptionKey('not base64 !!')).toBe(false);
    let error: unknown;
    try {
      new FernetCipher(bad, 'ENCRYPTION_KEY');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EncryptionKeyError);
    expect((error as Error).message).toContain('ENCRYPTION_KEY');
    expect((error as Error).message).not.toContain(bad);
  });
});
