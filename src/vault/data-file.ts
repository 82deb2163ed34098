import { access, readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-file.js';
import { VaultStartError } from './errors.js';
import type { FernetCipher } from './fernet.js';

/**
 * The vault's data file: JSON holding, per secret, its name and its value as
 * a Fernet token; plus a token of a fixed text so a wrong key is caught at
 * start even when the vault is empty. No value is ever written in clear.
 */

const FORMAT = 'mixpeek-local-vault';
const VERSION = 1;
const KEY_CHECK = 'mixpeek-local-vault key check';

interface DataFileJson {
  format: typeof FORMAT;
  version: typeof VERSION;
  keyCheck: string;
  secrets: { name: string; token: string }[];
}

/** name → Fernet token, in the order the secrets were created. */
export type TokenMap = Map<string, string>;

/** Reads and checks the whole file; undefined when it does not exist yet. */
export async function readDataFile(path: string, cipher: FernetCipher): Promise<TokenMap | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new VaultStartError('DataFileIO', `cannot read data file ${path}: ${(err as Error).message}`);
  }
  const corrupt = (why: string): VaultStartError =>
    new VaultStartError('CorruptDataFile', `data file ${path} is corrupt (${why}); refusing to start with an empty vault`);

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw corrupt('not JSON');
  }
  if (!isDataFileJson(json)) throw corrupt('not a local vault data file');

  let check: string;
  try {
    check = cipher.decrypt(json.keyCheck);
  } catch {
    // decrypt() throws FernetTokenError only: the token is not this key's.
    throw new VaultStartError('WrongEncryptionKey', `data file ${path} cannot be decrypted with this ENCRYPTION_KEY (wrong key?)`);
  }
  if (check !== KEY_CHECK) throw corrupt('key check does not match');

  const tokens: TokenMap = new Map();
  for (const [i, entry] of json.secrets.entries()) {
    try {
      cipher.decrypt(entry.token);
    } catch {
      throw corrupt(`secret #${i + 1} cannot be decrypted`);
    }
    if (tokens.has(entry.name)) throw corrupt(`secret #${i + 1} repeats a name`);
    tokens.set(entry.name, entry.token);
  }
  return tokens;
}

export async function writeDataFile(path: string, tokens: TokenMap, cipher: FernetCipher): Promise<void> {
  const json: DataFileJson = {
    format: FORMAT,
    version: VERSION,
    keyCheck: cipher.encrypt(KEY_CHECK),
    secrets: [...tokens].map(([name, token]) => ({ name, token })),
  };
  await writeFileAtomic(path, `${JSON.stringify(json)}\n`, 0o600);
}

function isDataFileJson(v: unknown): v is DataFileJson {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    o.format === FORMAT &&
    o.version === VERSION &&
    typeof o.keyCheck === 'string' &&
    Array.isArray(o.secrets) &&
    o.secrets.every((e: unknown) => {
      if (typeof e !== 'object' || e === null) return false;
      const r = e as Record<string, unknown>;
      return typeof r.name === 'string' && typeof r.token === 'string';
    })
  );
}

export async function dataFileExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
