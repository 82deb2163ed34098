import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/log.js';
import { vaultFlags, vaultServerOptions } from '../../src/vault/command.js';
import type { VaultServer, VaultServerOptions } from '../../src/vault/index.js';
import { vaultsFor } from './vaults.js';
import { call, item, SECRETS } from './http.js';

const ADMIN = 'sk_admin_writelog';
const apiKeys: VaultServerOptions['apiKeys'] = [{ key: ADMIN, role: 'ADMIN' }];

const start = vaultsFor(apiKeys);

async function writeSome(vault: VaultServer): Promise<void> {
  await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: 'w', secret_value: 'w-value-1' } });
  await call(vault.url, 'PUT', item('w'), { key: ADMIN, json: { secret_value: 'w-value-2' } });
  await call(vault.url, 'DELETE', item('w'), { key: ADMIN });
}

describe('the write log', () => {
  it('is kept by default for programmatic users', async () => {
    const vault = await start();
    await writeSome(vault);
    expect(vault.writes().map((w) => [w.op, w.status])).toEqual([
      ['create', 200],
      ['update', 200],
      ['delete', 200],
    ]);
  });

  it('with recordWrites false holds nothing: no value, no key, neither in writes() nor on /_test/writes', async () => {
    const vault = await start({ recordWrites: false, testHooks: true });
    await writeSome(vault);
    expect(vault.writes()).toEqual([]);
    const hook = await call(vault.url, 'GET', '/_test/writes');
    expect(hook.body).toEqual({ writes: [], requestCount: 3 });
    expect(hook.text).not.toContain('w-value');
    expect(hook.text).not.toContain(ADMIN);
    // The vault itself works as before.
    expect((await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: 'x', secret_value: 'x' } })).status).toBe(200);
    expect(vault.plaintext('x')).toBe('x');
  });

  it('the vault command keeps it only with --test-hooks, the one way to read it', () => {
    const parse = (argv: string[]) => {
      const parsed = vaultFlags.parse(['--api-key', `${ADMIN}:ADMIN`, ...argv], {});
      if (parsed.help) throw new Error('help');
      return vaultServerOptions(parsed.values, silentLogger());
    };
    expect(parse([])).toMatchObject({ testHooks: false, recordWrites: false });
    expect(parse(['--test-hooks'])).toMatchObject({ testHooks: true, recordWrites: true });
  });
});
