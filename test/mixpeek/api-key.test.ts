import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKeyError, MixpeekClient, apiKeyFromEnv, apiKeyFromFile, apiKeyFromValue, type ApiKeySource } from '../../src/mixpeek/index.js';
import { CapturedLog, createLogger } from '../../src/observability/log.js';
import { sendJson, startFakeVault } from './fake-vault.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mixpeek-key-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function thrown(fn: () => unknown): ApiKeyError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiKeyError);
    return error as ApiKeyError;
  }
  throw new Error('expected an ApiKeyError');
}

/**
 * A Secret volume as the kubelet lays it out: dir/..data_1/apiKey, dir/..data -> ..data_1,
 * dir/apiKey -> ..data/apiKey. Rotation writes ..data_2 and renames a fresh symlink over ..data.
 */
function secretVolume(initial: string): { path: string; rotate: (key: string) => void } {
  const dir = tempDir();
  let generation = 1;
  mkdirSync(join(dir, '..data_1'));
  writeFileSync(join(dir, '..data_1', 'apiKey'), initial);
  symlinkSync('..data_1', join(dir, '..data'));
  symlinkSync(join('..data', 'apiKey'), join(dir, 'apiKey'));
  return {
    path: join(dir, 'apiKey'),
    rotate(key: string): void {
      const old = `..data_${generation}`;
      generation += 1;
      const next = `..data_${generation}`;
      mkdirSync(join(dir, next));
      writeFileSync(join(dir, next, 'apiKey'), key);
      symlinkSync(next, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      rmSync(join(dir, old), { recursive: true });
    },
  };
}

async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('apiKeyFromValue and apiKeyFromEnv', () => {
  it('trims and returns the key', () => {
    expect(apiKeyFromValue('  sk_abc\n').current()).toBe('sk_abc');
    expect(apiKeyFromEnv('K', { K: 'sk_env\n' }).current()).toBe('sk_env');
  });

  it('refuses empty, missing and malformed keys without quoting them', () => {
    expect(thrown(() => apiKeyFromValue('  \n')).kind).toBe('Empty');
    expect(thrown(() => apiKeyFromEnv('MISSING_KEY', {})).kind).toBe('Missing');
    const malformed = thrown(() => apiKeyFromValue('sk_one two_secretpart'));
    expect(malformed.kind).toBe('Malformed');
    expect(malformed.message).not.toContain('secretpart');
  });
});

describe('apiKeyFromFile', () => {
  it('reads the file, trimmed', () => {
    const path = join(tempDir(), 'apiKey');
    writeFileSync(path, 'sk_file_key\n');
    const source = apiKeyFromFile(path);
    cleanups.push(() => source.close());
    expect(source.current()).toBe('sk_file_key');
  });

  it('says clearly when the file is missing or empty', () => {
    const dir = tempDir();
    const missing = thrown(() => apiKeyFromFile(join(dir, 'nope')));
    expect(missing.kind).toBe('Missing');
    expect(missing.message).toContain(join(dir, 'nope'));
    writeFileSync(join(dir, 'empty'), '\n');
    expect(thrown(() => apiKeyFromFile(join(dir, 'empty'))).kind).toBe('Empty');
  });

  it('picks up a kubelet-style symlink swap through the directory watch, without a call to current()', async () => {
    const volume = secretVolume('sk_first');
    const out = new CapturedLog();
    const source = apiKeyFromFile(volume.path, createLogger({ level: 'debug', destination: out }));
    cleanups.push(() => source.close());
    expect(source.current()).toBe('sk_first');
    volume.rotate('sk_second\n');
    // The watcher logs the change on its own; current() is not called until it has.
    await eventually(() => out.text.includes('API key file changed'));
    expect(source.current()).toBe('sk_second');
    expect(out.text).not.toContain('sk_first');
    expect(out.text).not.toContain('sk_second');
  });

  it('with the watch off, still sees a swap by the stat in current()', () => {
    const volume = secretVolume('sk_one');
    const source = apiKeyFromFile(volume.path, undefined, { watch: false });
    cleanups.push(() => source.close());
    expect(source.current()).toBe('sk_one');
    volume.rotate('sk_two');
    expect(source.current()).toBe('sk_two');
    volume.rotate('sk_three');
    expect(source.current()).toBe('sk_three');
  });

  it('keeps the last good key when the new file is empty, and logs why without content', () => {
    const volume = secretVolume('sk_good');
    const out = new CapturedLog();
    const source = apiKeyFromFile(volume.path, createLogger({ level: 'debug', destination: out }));
    cleanups.push(() => source.close());
    volume.rotate('');
    expect(source.current()).toBe('sk_good');
    expect(out.text).toContain('keeping the previous key');
    expect(out.text).not.toContain('sk_good');
  });

  it('a running client sends the rotated key on the next request, with no restart', async () => {
    const volume = secretVolume('sk_before_rotation');
    const vault = await startFakeVault((_req, res) => sendJson(res, 200, { secrets: [], count: 0 }));
    const source: ApiKeySource = apiKeyFromFile(volume.path);
    const client = new MixpeekClient({ baseUrl: vault.url, apiKey: source, rateLimit: { ratePerSecond: 1000, burst: 1000 } });
    cleanups.push(() => vault.close(), () => client.close(), () => source.close());

    await client.listSecrets();
    volume.rotate('sk_after_rotation');
    await client.listSecrets();
    expect(vault.requests.map((r) => r.headers.authorization)).toEqual(['Bearer sk_before_rotation', 'Bearer sk_after_rotation']);
  });
});
