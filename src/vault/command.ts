import { createLogger, type Logger } from '../observability/log.js';
import { defineCommand, defineFlags, FlagError, integerIn, oneOf, type CommandIo, type FlagValues } from '../flags.js';
import { VaultStartError } from './errors.js';
import { parseApiKeySpec } from './keys.js';
import { DEFAULT_MAX_BODY_BYTES, startVaultServer, type VaultServer, type VaultServerOptions } from './index.js';

export const vaultFlags = defineFlags([
  { name: 'host', env: 'MIXPEEK_VAULT_HOST', type: 'string', metavar: 'ADDRESS', default: '127.0.0.1', description: 'Address to listen on.' },
  {
    name: 'port',
    env: 'MIXPEEK_VAULT_PORT',
    type: 'number',
    metavar: 'PORT',
    default: 8080,
    parse: integerIn(0, 65535),
    description: 'Port to listen on; 0 picks a free one.',
  },
  {
    name: 'api-key',
    env: 'MIXPEEK_VAULT_API_KEYS',
    type: 'string',
    repeatable: true,
    sensitive: true,
    metavar: 'KEY:ROLE',
    parse: parseApiKeySpec,
    description: 'An accepted API key and its role, KEY:ROLE with ROLE ADMIN or READ. At least one.',
  },
  {
    name: 'data-file',
    env: 'MIXPEEK_VAULT_DATA_FILE',
    type: 'string',
    metavar: 'PATH',
    defaultText: 'none (in memory)',
    description: 'File the secrets persist in, values Fernet-encrypted, written atomically with mode 0600.',
  },
  {
    name: 'encryption-key',
    env: 'ENCRYPTION_KEY',
    type: 'string',
    metavar: 'KEY',
    sensitive: true,
    defaultText: 'generated into DATA_FILE.key (0600) and reused',
    description: 'Fernet key for values at rest: 32 bytes, url-safe base64.',
  },
  {
    name: 'rate-limit-per-minute',
    env: 'MIXPEEK_VAULT_RATE_LIMIT_PER_MINUTE',
    type: 'number',
    default: 0,
    parse: integerIn(0, 1_000_000),
    defaultText: '0 (off)',
    description: 'Requests per minute per API key and route, answered 429 with Retry-After beyond it (free tier 10, pro 60).',
  },
  {
    name: 'test-hooks',
    env: 'MIXPEEK_VAULT_TEST_HOOKS',
    type: 'boolean',
    description:
      'Serve /_test/ routes: fault injection, and read-back of plaintext values and of every write with its API key, all without an API key. ' +
      'Never in production; with a --host other than loopback anyone who can reach the port reads them (a warning is logged).',
  },
  {
    name: 'max-body-bytes',
    env: 'MIXPEEK_VAULT_MAX_BODY_BYTES',
    type: 'number',
    default: DEFAULT_MAX_BODY_BYTES,
    parse: integerIn(1, 1024 * 1024 * 1024),
    description: 'Larger request bodies are answered 413.',
  },
  {
    name: 'log-level',
    env: 'MIXPEEK_VAULT_LOG_LEVEL',
    type: 'string',
    metavar: 'LEVEL',
    default: 'info',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
    description: 'fatal, error, warn, info, debug, trace or silent; audit lines are info.',
  },
]);

/**
 * The server options the `vault` command starts with. The write log (values
 * and API keys) is kept only with --test-hooks, the one way to read it: a
 * vault left running would otherwise grow it for ever.
 */
export function vaultServerOptions(flags: FlagValues<typeof vaultFlags.specs>, logger: Logger): VaultServerOptions {
  return {
    host: flags.host,
    port: flags.port,
    apiKeys: flags.apiKey,
    ...(flags.dataFile !== undefined && { dataFile: flags.dataFile }),
    ...(flags.encryptionKey !== undefined && { encryptionKey: flags.encryptionKey }),
    rateLimitPerMinute: flags.rateLimitPerMinute,
    testHooks: flags.testHooks,
    recordWrites: flags.testHooks,
    maxBodyBytes: flags.maxBodyBytes,
    logger,
  };
}

export const vaultCommand = defineCommand({
  name: 'vault',
  summary: 'Run a local Mixpeek-compatible vault (for tests, benchmarks and demos).',
  description:
    'Run a local vault that speaks the Mixpeek Organization Secrets API (same routes, bodies, errors and API-key roles),\n' +
    'with values Fernet-encrypted at rest. Prints one line with its URL; SIGTERM or SIGINT finishes in-flight requests and exits 0.',
  flags: vaultFlags,
  async run(flags, io: CommandIo): Promise<number> {
    if (flags.apiKey.length === 0) {
      throw new FlagError('at least one --api-key KEY:ROLE (or MIXPEEK_VAULT_API_KEYS) is required');
    }
    const logger = createLogger({ level: flags.logLevel, base: { component: 'vault' } });
    let server: VaultServer;
    try {
      server = await startVaultServer(vaultServerOptions(flags, logger));
    } catch (err) {
      if (err instanceof VaultStartError) {
        io.err(`mixpeek vault: ${err.message}`);
        return 1;
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
        io.err(`mixpeek vault: cannot listen on ${flags.host}:${flags.port} (${code})`);
        return 1;
      }
      throw err;
    }
    io.out(`mixpeek vault listening on ${server.url}`);
    await new Promise<void>((resolve) => {
      if (io.shutdown.aborted) resolve();
      else io.shutdown.addEventListener('abort', () => resolve(), { once: true });
    });
    await server.close();
    logger.flush();
    return 0;
  },
});
