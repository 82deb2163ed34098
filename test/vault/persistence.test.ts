import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CapturedLog, createLogger } from '../../src/observability/log.js';
import { generateEncryptionKey } from '../../src/vault/fernet.js';
import { startVaultServer, VaultStartError, type VaultServer, type VaultServerOptions } from '../../src/vault/index.js';
import { call, item, SECRETS } from './http.js';

const ADMIN = 'sk_admin_persist';
const apiKeys: VaultServerOptions['apiKeys'] = [{ key: ADMIN, role: 'ADMIN' }];

let dir: string;
let dataFile: string;
const open: VaultServer[] = [];

async function start(options: Partial<VaultServerOptions> = {}): Promise<VaultServer> {
  const vault = await startVaultServer({ port: 0, apiKeys, dataFile, ...options });
  open.push(vault);
  return vault;
}

async function startError(options: Partial<VaultServerOptions> = {}): Promise<VaultStartError> {
  try {
    await start(options);
  } catch (err) {
    expect(err).toBeInstanceOf(VaultStartError);
    return err as VaultStartError;
  }
  throw new Error('the vault started');
}

async function create(vault: VaultServer, name: string, value: string): Promise<void> {
  const res = await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: name, secret_value: value } });
  expect(res.status).toBe(200);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mixpeek-vault-'));
  dataFile = join(dir, 'vault.json');
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((v) => v.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('data file', () => {
  it('survives a restart: same names, same values, deletes and updates included', async () => {
    const key = generateEncryptionKey();
    const first = await start({ encryptionKey: key });
    await create(first, 'alpha', 'alpha-value-1');
    await create(first, 'beta', 'beta-value');
    await create(first, 'gamma', 'gamma-value');
    await call(first.url, 'PUT', item('alpha'), { key: ADMIN, json: { secret_value: 'alpha-value-2' } });
    await call(first.url, 'DELETE', item('beta'), { key: ADMIN });
    await first.close();

    const second = await start({ encryptionKey: key });
    expect(second.names()).toEqual(['alpha', 'gamma']);
    expect(second.plaintext('alpha')).toBe('alpha-value-2');
    expect(second.plaintext('gamma')).toBe('gamma-value');
    const listed = await call(second.url, 'GET', SECRETS, { key: ADMIN });
    expect(listed.body).toEqual({ secrets: ['alpha', 'gamma'], count: 2 });
  });

  it('holds no plaintext value, has mode 0600, and leaves no temp file behind', async () => {
    const vault = await start({ encryptionKey: generateEncryptionKey() });
    const values = Array.from({ length: 30 }, (_, i) => `plaintext-needle-${i}-${'q'.repeat(i)}`);
    // Concurrent writes: each answer comes after its change is on disk.
    await Promise.all(values.map((v, i) => create(vault, `s${i}`, v)));
    const bytes = await readFile(dataFile);
    for (const v of values) {
      expect(bytes.includes(Buffer.from(v))).toBe(false);
      expect(bytes.includes(Buffer.from(Buffer.from(v).toString('base64')))).toBe(false);
    }
    expect(bytes.includes(Buffer.from('plaintext-needle'))).toBe(false);
    expect((await stat(dataFile)).mode & 0o777).toBe(0o600);
    await vault.close();
    expect(await readdir(dir)).toEqual(['vault.json']);
  });

  it('keeps every one of many concurrent writes across a restart', async () => {
    const key = generateEncryptionKey();
    const vault = await start({ encryptionKey: key });
    const names = Array.from({ length: 40 }, (_, i) => `c${i}`);
    await Promise.all(names.map((n) => create(vault, n, `value-of-${n}`)));
    await Promise.all(names.slice(0, 20).map((n) => call(vault.url, 'PUT', item(n), { key: ADMIN, json: { secret_value: `new-${n}` } })));
    await vault.close();
    const again = await start({ encryptionKey: key });
    expect(again.names().sort()).toEqual([...names].sort());
    for (const [i, n] of names.entries()) expect(again.plaintext(n)).toBe(i < 20 ? `new-${n}` : `value-of-${n}`);
  });

  it('answers 500 InternalServerError when a change cannot be saved, and says so in writes()', async () => {
    const vault = await start({ encryptionKey: generateEncryptionKey() });
    await rm(dir, { recursive: true, force: true });
    const res = await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: 'lost', secret_value: 'v' } });
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ success: false, status: 500, error: { type: 'InternalServerError' } });
    expect(vault.writes()).toEqual([expect.objectContaining({ op: 'create', name: 'lost', status: 500 })]);
  });

  it('takes back a change it could not save: not served, not resurrected by the next save or a restart', async () => {
    const key = generateEncryptionKey();
    const first = await start({ encryptionKey: key });
    await create(first, 'kept', 'kept-v1');
    await create(first, 'doomed', 'doomed-v1');
    await rm(dir, { recursive: true, force: true });

    const put = (name: string, value: string) => call(first.url, 'PUT', item(name), { key: ADMIN, json: { secret_value: value } });
    expect((await call(first.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: 'lost', secret_value: 'lost-v' } })).status).toBe(500);
    expect((await put('kept', 'kept-v2')).status).toBe(500);
    expect((await call(first.url, 'DELETE', item('doomed'), { key: ADMIN })).status).toBe(500);
    expect(first.names()).toEqual(['kept', 'doomed']);
    expect(first.plaintext('kept')).toBe('kept-v1');
    expect((await call(first.url, 'GET', SECRETS, { key: ADMIN })).body).toEqual({ secrets: ['kept', 'doomed'], count: 2 });
    // The 409/404 a retry meets must match what is stored: the create that failed can be made again.
    await mkdir(dir);
    await create(first, 'lost', 'lost-v2');
    expect((await put('doomed', 'doomed-v2')).status).toBe(200);
    await first.close();

    const second = await start({ encryptionKey: key });
    expect(second.names()).toEqual(['kept', 'doomed', 'lost']);
    expect(second.plaintext('kept')).toBe('kept-v1');
    expect(second.plaintext('doomed')).toBe('doomed-v2');
    expect(second.plaintext('lost')).toBe('lost-v2');
  });

  it('without ENCRYPTION_KEY generates a 0600 key file beside the data file and reuses it next start', async () => {
    const first = await start();
    await create(first, 'k', 'key-file-value');
    await first.close();
    const keyFile = `${dataFile}.key`;
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const key = (await readFile(keyFile, 'utf8')).trim();
    expect(Buffer.from(key, 'base64url')).toHaveLength(32);
    expect((await readFile(dataFile)).includes(Buffer.from('key-file-value'))).toBe(false);

    const second = await start();
    expect(second.plaintext('k')).toBe('key-file-value');
    expect((await readFile(keyFile, 'utf8')).trim()).toBe(key);
    expect((await readdir(dir)).sort()).toEqual(['vault.json', 'vault.json.key']);
  });
});

describe('start-up log', () => {
  it('says which key the data file is read with (given, generated into, read from the key file), never the key', async () => {
    const opened = async (options: Partial<VaultServerOptions>): Promise<Record<string, unknown>[]> => {
      const log = new CapturedLog();
      const vault = await start({ ...options, logger: createLogger({ level: 'info', destination: log }) });
      await vault.close();
      for (const secret of [options.encryptionKey, await readFile(`${dataFile}.key`, 'utf8').catch(() => undefined)]) {
        if (secret !== undefined) expect(log.text).not.toContain(secret.trim());
      }
      return log.records().filter((r) => r.msg === 'vault data file opened');
    };
    const keyFile = `${dataFile}.key`;
    expect(await opened({})).toEqual([expect.objectContaining({ dataFile, keySource: 'generated', keyFile })]);
    expect(await opened({})).toEqual([expect.objectContaining({ dataFile, keySource: 'key-file', keyFile })]);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
    const given = await opened({ encryptionKey: generateEncryptionKey() });
    expect(given).toEqual([expect.objectContaining({ dataFile, keySource: 'given' })]);
    expect(given[0]).not.toHaveProperty('keyFile');
  });
});

describe('start-up refuses instead of serving an empty vault', () => {
  it('a corrupt data file', async () => {
    await writeFile(dataFile, '{"format": "mixpeek-local-vault", "vers', { mode: 0o600 });
    const err = await startError({ encryptionKey: generateEncryptionKey() });
    expect(err.kind).toBe('CorruptDataFile');
    expect(err.message).toContain(dataFile);
    expect(err.message).toMatch(/corrupt/);
    expect(err.message).not.toMatch(/\n/);
  });

  it('a file that is JSON but not a vault file, and a tampered token', async () => {
    const key = generateEncryptionKey();
    await writeFile(dataFile, '{"hello": "world"}');
    expect((await startError({ encryptionKey: key })).kind).toBe('CorruptDataFile');
    await rm(dataFile);

    const vault = await start({ encryptionKey: key });
    await create(vault, 'a', 'tamper-value');
    await vault.close();
    const json = JSON.parse(await readFile(dataFile, 'utf8')) as { secrets: { name: string; token: string }[] };
    const token = json.secrets[0]?.token ?? '';
    const flipped = token.slice(0, 40) + (token[40] === 'A' ? 'B' : 'A') + token.slice(41);
    json.secrets[0] = { name: 'a', token: flipped };
    await writeFile(dataFile, JSON.stringify(json));
    const err = await startError({ encryptionKey: key });
    expect(err.kind).toBe('CorruptDataFile');
    expect(err.message).toContain('cannot be decrypted');
  });

  it('the wrong key, even for an empty vault', async () => {
    const vault = await start({ encryptionKey: generateEncryptionKey() });
    await vault.close();
    const err = await startError({ encryptionKey: generateEncryptionKey() });
    expect(err.kind).toBe('WrongEncryptionKey');
    expect(err.message).toContain(dataFile);
    expect(err.message).toContain('ENCRYPTION_KEY');
  });

  it('a data file whose key file is gone, with no key given', async () => {
    const vault = await start();
    await create(vault, 'x', 'orphan-value');
    await vault.close();
    await rm(`${dataFile}.key`);
    const err = await startError();
    expect(err.kind).toBe('MissingEncryptionKey');
    expect(err.message).toContain(`${dataFile}.key`);
    // No new key was generated over the old data.
    expect(await readdir(dir)).toEqual(['vault.json']);
  });

  it('a data file in a directory that does not exist', async () => {
    dataFile = join(dir, 'missing-dir', 'vault.json');
    const err = await startError({ encryptionKey: generateEncryptionKey() });
    expect(err.kind).toBe('DataFileIO');
    expect(err.message).toContain(dataFile);
  });

  it('an ENCRYPTION_KEY that is not 32 bytes of url-safe base64, without repeating it', async () => {
    const bad = Buffer.alloc(31, 9).toString('base64url');
    const err = await startError({ encryptionKey: bad });
    expect(err.kind).toBe('InvalidEncryptionKey');
    expect(err.message).toContain('32 bytes');
    expect(err.message).not.toContain(bad);
  });
});
