/** Local vaults a test file starts on port 0 and has closed after each test. */
import { afterEach } from 'vitest';
import { startVaultServer, type VaultServer, type VaultServerOptions } from '../../src/vault/index.js';

export function vaultsFor(apiKeys: VaultServerOptions['apiKeys']): (options?: Partial<VaultServerOptions>) => Promise<VaultServer> {
  const open: VaultServer[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((v) => v.close()));
  });
  return async (options = {}) => {
    const vault = await startVaultServer({ port: 0, apiKeys, ...options });
    open.push(vault);
    return vault;
  };
}
