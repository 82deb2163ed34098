import { silentLogger, type Logger } from '../observability/log.js';
import { AuditLog } from './audit.js';
import { dataFileExists } from './data-file.js';
import { FaultPlan, type VaultFaults } from './faults.js';
import { FernetCipher } from './fernet.js';
import { ApiKeyRing, resolveEncryptionKey, type ApiKey } from './keys.js';
import { isLoopbackAddress } from './loopback.js';
import { RouteRateLimiter } from './rate-limit.js';
import { VaultHttpServer } from './server.js';
import { SecretStore } from './store.js';
import { WriteLog, type VaultWrite } from './write-log.js';

export type { ApiKey, ApiKeyRole } from './keys.js';
export type { FailNextOptions, VaultFaults, VaultOperation } from './faults.js';
export type { VaultWrite } from './write-log.js';
export type { ErrorEnvelope, ApiErrorType } from './api-error.js';
export { VaultStartError, type VaultStartErrorKind } from './errors.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface VaultServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  apiKeys: ApiKey[];
  /** Where secrets persist, Fernet-encrypted; in memory only when absent. */
  dataFile?: string;
  /** 32 bytes, url-safe base64. Absent with a data file: generated into DATA_FILE.key (0600) and reused. */
  encryptionKey?: string;
  /** Per API key and route, like the real API's tiers (10 free, 60 pro). Off when absent or 0. */
  rateLimitPerMinute?: number;
  /** Serve the /_test/ routes. */
  testHooks?: boolean;
  /**
   * Keep every write, value and API key included, in memory for writes() and
   * GET /_test/writes. Default true, for tests; a long-running vault passes
   * false, or the log grows for as long as it runs.
   */
  recordWrites?: boolean;
  /** Default 1 MiB. */
  maxBodyBytes?: number;
  /** Audit lines go here; silent when absent. */
  logger?: Logger;
}

export interface VaultServer {
  /** e.g. http://127.0.0.1:40123 (no trailing slash). */
  url: string;
  close(): Promise<void>;
  faults: VaultFaults;
  /** The current value of a secret, for tests; never logged. */
  plaintext(name: string): string | undefined;
  names(): string[];
  /** Every create/update/delete that reached the store, in arrival order (see VaultWrite); empty with recordWrites false. */
  writes(): ReadonlyArray<VaultWrite>;
  /** API requests received (the /_test/ routes not counted). */
  requestCount(): number;
}

/**
 * Starts the local Mixpeek-compatible vault.
 * @throws VaultStartError when the key is invalid or the data file cannot be read back.
 */
export async function startVaultServer(options: VaultServerOptions): Promise<VaultServer> {
  const logger = options.logger ?? silentLogger();
  const resolved = await resolveEncryptionKey({
    encryptionKey: options.encryptionKey,
    dataFile: options.dataFile,
    dataFileExists: options.dataFile !== undefined && (await dataFileExists(options.dataFile)),
  });
  const cipher = new FernetCipher(resolved.key, 'ENCRYPTION_KEY');
  const store = await SecretStore.open({ cipher, dataFile: options.dataFile });
  if (options.dataFile !== undefined) {
    // Where the key lives, never the key: without it the data file cannot be read, so a generated one must be kept.
    const { source, keyFile } = resolved;
    logger.info({ dataFile: options.dataFile, keySource: source, ...(keyFile !== undefined && { keyFile }) }, 'vault data file opened');
  }
  const faults = new FaultPlan();
  const perMinute = options.rateLimitPerMinute ?? 0;

  const http = new VaultHttpServer({
    store,
    keys: new ApiKeyRing(options.apiKeys),
    faults,
    audit: new AuditLog(logger),
    logger,
    limiter: perMinute > 0 ? new RouteRateLimiter(perMinute) : undefined,
    writeLog: new WriteLog(options.recordWrites ?? true),
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    testHooks: options.testHooks ?? false,
  });
  const address = await http.listen(options.host ?? '127.0.0.1', options.port ?? 8080);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  if (options.testHooks === true && !isLoopbackAddress(address.address)) {
    logger.warn(
      { address: address.address, port: address.port },
      'test hooks are on and the vault listens beyond loopback: anyone who can reach it reads every secret value and API key through /_test/, without an API key; never do this outside a closed test network',
    );
  }

  return {
    url: `http://${host}:${address.port}`,
    close: () => http.close(),
    faults,
    plaintext: (name) => store.plaintext(name),
    names: () => store.names(),
    writes: () => http.writes(),
    requestCount: () => http.requestCount(),
  };
}
