import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { MixpeekClient, VaultError, apiKeyFromValue } from '../../src/mixpeek/index.js';
import { CapturedLog, createLogger } from '../../src/observability/log.js';
import { sendJson, startFakeVault, type FakeVault, type Responder } from './fake-vault.js';

// Identifier-shaped on purpose, so it would also pass as an error "type" if the client trusted one.
const VALUE = 'sv_Radioactive_7f3a9c2e';
const API_KEY = 'sk_live_never_print_4b1d';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What the real API's 422 looks like: message and details both carry the submitted input. */
function echoingValidationError(res: Parameters<Responder>[1], status: number, input: string): void {
  sendJson(
    res,
    status,
    {
      success: false,
      status,
      error: {
        message: `1 validation error: secret_value ${input} is not acceptable`,
        type: 'ValidationError',
        details: { errors: [{ loc: ['body', 'secret_value'], msg: 'bad', input }], body: { secret_value: input } },
      },
      detail: [{ input }],
    },
    { 'x-echo': input },
  );
}

async function setup(respond: Responder): Promise<{ vault: FakeVault; client: MixpeekClient; log: CapturedLog }> {
  const vault = await startFakeVault(respond);
  const log = new CapturedLog();
  const client = new MixpeekClient({
    baseUrl: vault.url,
    apiKey: apiKeyFromValue(API_KEY),
    rateLimit: { ratePerSecond: 1000, burst: 1000 },
    random: () => 0,
    retry: { maxAttempts: 3 },
    logger: createLogger({ level: 'trace', destination: log }),
  });
  cleanups.push(() => vault.close(), () => client.close());
  return { vault, client, log };
}

async function caught(promise: Promise<unknown>): Promise<VaultError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VaultError);
  return error as VaultError;
}

/** Every way the error can be turned into text, plus what a logger writes when handed the error. */
function everythingSaidAbout(error: VaultError, log: CapturedLog): string[] {
  const logger = createLogger({ level: 'trace', destination: log });
  logger.error({ err: error }, 'update failed');
  logger.error(error, 'update failed');
  return [
    error.message,
    error.stack ?? '',
    String(error),
    JSON.stringify(error),
    JSON.stringify(Object.values(error)),
    ...Object.values(error).map((v) => String(v)),
    inspect(error, { depth: 10, showHidden: true }),
    inspect((error as { cause?: unknown }).cause),
    ...log.lines,
  ];
}

function expectClean(texts: string[]): void {
  for (const text of texts) {
    expect(text).not.toContain(VALUE);
    expect(text).not.toContain(API_KEY);
  }
}

describe('secret values never leave through errors or logs', () => {
  it('a 422 that echoes the value: the value is nowhere in the error or the logs', async () => {
    const { vault, client, log } = await setup((_req, res) => echoingValidationError(res, 422, VALUE));
    const error = await caught(client.updateSecret('stripe_api_key', VALUE));

    // The server really did receive and echo it: the test would mean nothing otherwise.
    expect(vault.requests[0]?.body).toContain(VALUE);
    expect(error).toMatchObject({ kind: 'Rejected', status: 422, mixpeekType: 'ValidationError', retryable: false });
    expect(error.message).toBe('vault update of "stripe_api_key" failed: 422 ValidationError');
    expect(log.lines.length).toBeGreaterThan(0);
    expectClean(everythingSaidAbout(error, log));
  });

  it('retried 5xx answers that echo the value leave nothing in the retry log lines', async () => {
    const { vault, client, log } = await setup((_req, res) => echoingValidationError(res, 500, VALUE));
    const error = await caught(client.createSecret('stripe_api_key', VALUE));
    expect(vault.requests).toHaveLength(3);
    expect(log.records().filter((r) => r.msg === 'vault call failed; retrying')).toHaveLength(2);
    expectClean(everythingSaidAbout(error, log));
  });

  it('an error type that is the value itself is dropped', async () => {
    const { client, log } = await setup((_req, res) =>
      sendJson(res, 422, { success: false, status: 422, error: { message: VALUE, type: VALUE, details: VALUE } }),
    );
    const error = await caught(client.updateSecret('n', VALUE));
    expect(error.mixpeekType).toBeUndefined();
    expectClean(everythingSaidAbout(error, log));
  });

  it('a malformed 2xx that echoes the value is reported without it', async () => {
    const { client, log } = await setup((_req, res) => sendJson(res, 200, { echo: VALUE, secret_value: VALUE }));
    const error = await caught(client.updateSecret('n', VALUE));
    expect(error.kind).toBe('InvalidResponse');
    expectClean(everythingSaidAbout(error, log));
  });

  it('a value that is not valid for sending is refused without quoting it', async () => {
    const { client, log } = await setup((_req, res) => sendJson(res, 200, {}));
    const error = await caught(client.updateSecret('x'.repeat(101), VALUE));
    expect(error.kind).toBe('Rejected');
    expectClean(everythingSaidAbout(error, log));
  });
});
