import { describe, expect, it } from 'vitest';
import { CapturedLog, createLogger } from '../../src/observability/log.js';
import { vaultFlags } from '../../src/vault/command.js';
import type { VaultServerOptions } from '../../src/vault/index.js';
import { vaultsFor } from './vaults.js';
import { isLoopbackAddress } from '../../src/vault/loopback.js';

const ADMIN = 'sk_admin_exposure';
const apiKeys: VaultServerOptions['apiKeys'] = [{ key: ADMIN, role: 'ADMIN' }];

const start = vaultsFor(apiKeys);

const warnings = (log: CapturedLog) => log.records().filter((r) => r.level === 'warn');

describe('test hooks beyond loopback', () => {
  it('log a warning at start-up naming the exposure, never a key', async () => {
    const log = new CapturedLog();
    await start({ host: '0.0.0.0', testHooks: true, logger: createLogger({ level: 'info', destination: log }) });
    const [warning, ...more] = warnings(log);
    expect(more).toEqual([]);
    expect(warning).toMatchObject({ address: '0.0.0.0' });
    expect(warning?.msg).toMatch(/test hooks.*beyond loopback.*secret value.*API key/);
    expect(log.text).not.toContain(ADMIN);
  });

  it('stay quiet on loopback, and without test hooks', async () => {
    const log = new CapturedLog();
    const logger = createLogger({ level: 'info', destination: log });
    await start({ host: '127.0.0.1', testHooks: true, logger });
    await start({ host: '0.0.0.0', testHooks: false, logger });
    expect(warnings(log)).toEqual([]);
  });

  it('the --test-hooks help says what it exposes and when', () => {
    const spec = vaultFlags.specs.find((s) => s.name === 'test-hooks');
    expect(spec?.description).toMatch(/without an API key/);
    expect(spec?.description).toMatch(/other than loopback.*warning/);
  });
});

describe('isLoopbackAddress', () => {
  it('knows 127.0.0.0/8, ::1 and mapped 127.x from wildcards and other addresses', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', 'fe80::1', '128.0.0.1']) expect(isLoopbackAddress(a), a).toBe(false);
  });
});
