import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapturedLog, createLogger } from '../../src/observability/log.js';
import { startVaultServer, type VaultServer } from '../../src/vault/index.js';
import { call, item, SECRETS, type ErrorEnvelopeShape } from './http.js';

const ADMIN = 'sk_admin_test';
const READER = 'sk_read_test';

// Every value used in this file: none may appear in an audit line.
const VALUES = ['v1-orange-radioactive', 'v2-banana-radioactive', 'echoed-in-422-radioactive', 'typed-wrong-radioactive'];

function expectEnvelope(body: unknown, status: number, type: string): ErrorEnvelopeShape {
  expect(body).toMatchObject({ success: false, status, error: { type } });
  const envelope = body as ErrorEnvelopeShape;
  expect(typeof envelope.error.message).toBe('string');
  expect(envelope.error).toHaveProperty('details');
  return envelope;
}

describe('local vault routes over a real socket', () => {
  let vault: VaultServer;
  const log = new CapturedLog();

  beforeAll(async () => {
    vault = await startVaultServer({
      port: 0,
      apiKeys: [
        { key: ADMIN, role: 'ADMIN' },
        { key: READER, role: 'READ' },
      ],
      logger: createLogger({ level: 'info', destination: log }),
    });
  });
  afterAll(async () => {
    await vault.close();
  });

  it('binds 127.0.0.1 by default and reports its URL', () => {
    expect(vault.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('creates, lists, updates and deletes a secret with the bodies of the real API', async () => {
    const created = await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: 'stripe_key', secret_value: VALUES[0] } });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({ secret_name: 'stripe_key', created: true, updated: null, deleted: null });
    expect(created.headers.get('content-type')).toBe('application/json');
    expect(vault.plaintext('stripe_key')).toBe(VALUES[0]);

    const listed = await call(vault.url, 'GET', SECRETS, { key: READER });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ secrets: ['stripe_key'], count: 1 });

    const updated = await call(vault.url, 'PUT', item('stripe_key'), { key: ADMIN, json: { secret_value: VALUES[1] } });
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual({ secret_name: 'stripe_key', created: null, updated: true, deleted: null });
    expect(vault.plaintext('stripe_key')).toBe(VALUES[1]);

    const deleted = await call(vault.url, 'DELETE', item('stripe_key'), { key: ADMIN });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ secret_name: 'stripe_key', created: null, updated: null, deleted: true });
    expect(vault.plaintext('stripe_key')).toBeUndefined();
    expect((await call(vault.url, 'GET', SECRETS, { key: ADMIN })).body).toEqual({ secrets: [], count: 0 });
  });

  it('takes percent-encoded names in the path', async () => {
    const name = 'team a/b: key';
    expect((await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: name, secret_value: 'x' } })).status).toBe(200);
    const updated = await call(vault.url, 'PUT', item(name), { key: ADMIN, json: { secret_value: 'y' } });
    expect(updated.body).toMatchObject({ secret_name: name, updated: true });
    expect(vault.plaintext(name)).toBe('y');
    expect((await call(vault.url, 'DELETE', item(name), { key: ADMIN })).status).toBe(200);
  });

  it('answers 409 AlreadyExistsError for a name that exists, leaving the value alone', async () => {
    await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: 'dup', secret_value: 'first' } });
    const again = await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: 'dup', secret_value: 'second' } });
    expect(again.status).toBe(409);
    expectEnvelope(again.body, 409, 'AlreadyExistsError');
    expect(vault.plaintext('dup')).toBe('first');
  });

  it('answers 404 NotFoundError to PUT and DELETE of a missing secret', async () => {
    const put = await call(vault.url, 'PUT', item('missing'), { key: ADMIN, json: { secret_value: 'v' } });
    expect(put.status).toBe(404);
    expectEnvelope(put.body, 404, 'NotFoundError');
    expect(vault.names()).not.toContain('missing');
    const del = await call(vault.url, 'DELETE', item('missing'), { key: ADMIN });
    expect(del.status).toBe(404);
    expectEnvelope(del.body, 404, 'NotFoundError');
  });

  it('answers 404 NotFoundError for unknown routes and 405 for a known path with another method', async () => {
    const unknown = await call(vault.url, 'GET', '/v1/organizations/keys', { key: ADMIN });
    expect(unknown.status).toBe(404);
    expectEnvelope(unknown.body, 404, 'NotFoundError');
    const nested = await call(vault.url, 'PUT', `${SECRETS}/a/b`, { key: ADMIN, json: { secret_value: 'v' } });
    expect(nested.status).toBe(404);
    const wrongMethod = await call(vault.url, 'GET', item('dup'), { key: ADMIN });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('PUT, DELETE');
    expectEnvelope(wrongMethod.body, 405, 'MethodNotAllowedError');
  });

  describe('422 ValidationError, with details that echo the input as the real API does', () => {
    it('missing name: the detail echoes the whole body, the value included', async () => {
      const res = await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_value: VALUES[2] } });
      expect(res.status).toBe(422);
      const env = expectEnvelope(res.body, 422, 'ValidationError');
      expect(env.error.details).toEqual([
        { type: 'missing', loc: ['body', 'secret_name'], msg: 'Field required', input: { secret_value: VALUES[2] } },
      ]);
      expect(env.error.message).not.toContain(VALUES[2]);
    });

    it('a name longer than 100 characters, or empty', async () => {
      const long = 'n'.repeat(101);
      const res = await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: long, secret_value: 'v' } });
      expect(res.status).toBe(422);
      expect(expectEnvelope(res.body, 422, 'ValidationError').error.details).toEqual([
        expect.objectContaining({ type: 'string_too_long', loc: ['body', 'secret_name'], input: long, ctx: { max_length: 100 } }),
      ]);
      const hundred = 'n'.repeat(100);
      expect((await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: hundred, secret_value: 'v' } })).status).toBe(200);

      const empty = await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: '', secret_value: 'v' } });
      expect(empty.status).toBe(422);
      expect(expectEnvelope(empty.body, 422, 'ValidationError').error.details).toEqual([
        expect.objectContaining({ type: 'string_too_short', loc: ['body', 'secret_name'], input: '' }),
      ]);

      const longPath = await call(vault.url, 'PUT', item(long), { key: ADMIN, json: { secret_value: 'v' } });
      expect(longPath.status).toBe(422);
      expect(expectEnvelope(longPath.body, 422, 'ValidationError').error.details).toEqual([
        expect.objectContaining({ type: 'string_too_long', loc: ['path', 'secret_name'], input: long }),
      ]);
    });

    it('counts a name in code points, as the client does, not UTF-16 units', async () => {
      const emoji60 = '\u{1F511}'.repeat(60); // 120 UTF-16 units
      const created = await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: emoji60, secret_value: 'v' } });
      expect(created.status).toBe(200);
      expect((await call(vault.url, 'PUT', item(emoji60), { key: ADMIN, json: { secret_value: 'w' } })).status).toBe(200);
      expect(vault.plaintext(emoji60)).toBe('w');

      const emoji100 = '\u{1F511}'.repeat(100);
      expect((await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: emoji100, secret_value: 'v' } })).status).toBe(200);

      const over = `${'\u{1F511}'.repeat(100)}n`; // 101 code points
      const rejected = await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: over, secret_value: 'v' } });
      expect(rejected.status).toBe(422);
      expect(expectEnvelope(rejected.body, 422, 'ValidationError').error.details).toEqual([
        expect.objectContaining({ type: 'string_too_long', loc: ['body', 'secret_name'], ctx: { max_length: 100 } }),
      ]);
      const overPath = await call(vault.url, 'PUT', item(over), { key: ADMIN, json: { secret_value: 'v' } });
      expect(overPath.status).toBe(422);
    });

    it('an empty value, on create and on update', async () => {
      const create = await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: 'e', secret_value: '' } });
      expect(create.status).toBe(422);
      expect(expectEnvelope(create.body, 422, 'ValidationError').error.details).toEqual([
        expect.objectContaining({ type: 'string_too_short', loc: ['body', 'secret_value'], input: '', ctx: { min_length: 1 } }),
      ]);
      await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: 'e', secret_value: 'kept' } });
      const update = await call(vault.url, 'PUT', item('e'), { key: ADMIN, json: { secret_value: '' } });
      expect(update.status).toBe(422);
      expect(vault.plaintext('e')).toBe('kept');
      const missing = await call(vault.url, 'PUT', item('e'), { key: ADMIN, json: { value: VALUES[3] } });
      expect(missing.status).toBe(422);
      expect(expectEnvelope(missing.body, 422, 'ValidationError').error.details).toEqual([
        { type: 'missing', loc: ['body', 'secret_value'], msg: 'Field required', input: { value: VALUES[3] } },
      ]);
    });

    it('wrong types, one detail per field', async () => {
      const res = await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: 7, secret_value: { v: VALUES[3] } } });
      expect(res.status).toBe(422);
      expect(expectEnvelope(res.body, 422, 'ValidationError').error.details).toEqual([
        expect.objectContaining({ type: 'string_type', loc: ['body', 'secret_name'], input: 7 }),
        expect.objectContaining({ type: 'string_type', loc: ['body', 'secret_value'], input: { v: VALUES[3] } }),
      ]);
      const notObject = await call(vault.url, 'PUT', item('e'), { key: ADMIN, json: ['a'] });
      expect(notObject.status).toBe(422);
      expect(expectEnvelope(notObject.body, 422, 'ValidationError').error.details).toEqual([
        expect.objectContaining({ type: 'model_attributes_type', loc: ['body'], input: ['a'] }),
      ]);
    });

    it('malformed JSON and an empty body', async () => {
      const bad = await call(vault.url, 'POST', SECRETS, { key: ADMIN, raw: '{"secret_name": "x", ', contentType: 'application/json' });
      expect(bad.status).toBe(422);
      expect(expectEnvelope(bad.body, 422, 'ValidationError').error.details).toEqual([
        expect.objectContaining({ type: 'json_invalid', loc: ['body'] }),
      ]);
      const empty = await call(vault.url, 'PUT', item('e'), { key: ADMIN, raw: '', contentType: 'application/json' });
      expect(empty.status).toBe(422);
      expect(expectEnvelope(empty.body, 422, 'ValidationError').error.details).toEqual([
        expect.objectContaining({ type: 'missing', loc: ['body'] }),
      ]);
    });
  });

  describe('API keys and roles', () => {
    it('401 UnauthorizedError without a key, with an unknown key, or with another scheme', async () => {
      for (const headers of [{}, { key: 'sk_unknown' }]) {
        const res = await call(vault.url, 'GET', SECRETS, headers);
        expect(res.status).toBe(401);
        expectEnvelope(res.body, 401, 'UnauthorizedError');
      }
      const basic = await fetch(`${vault.url}${SECRETS}`, { headers: { authorization: `Basic ${ADMIN}` } });
      expect(basic.status).toBe(401);
      await basic.arrayBuffer();
      const create = await call(vault.url, 'POST', SECRETS, { json: { secret_name: 'nokey', secret_value: 'v' } });
      expect(create.status).toBe(401);
      expect(vault.names()).not.toContain('nokey');
    });

    it('a READ key may list but gets 403 on every ADMIN route', async () => {
      expect((await call(vault.url, 'GET', SECRETS, { key: READER })).status).toBe(200);
      const attempts = [
        call(vault.url, 'POST', SECRETS, { key: READER, json: { secret_name: 'ro', secret_value: 'v' } }),
        call(vault.url, 'PUT', item('dup'), { key: READER, json: { secret_value: 'v' } }),
        call(vault.url, 'DELETE', item('dup'), { key: READER }),
      ];
      for (const res of await Promise.all(attempts)) {
        expect(res.status).toBe(403);
        expectEnvelope(res.body, 403, 'UnauthorizedError');
      }
      expect(vault.names()).not.toContain('ro');
      expect(vault.plaintext('dup')).toBe('first');
    });
  });

  it('415 for a body that is not JSON, with or without a content type', async () => {
    const text = await call(vault.url, 'POST', SECRETS, { key: ADMIN, raw: 'secret_name=a', contentType: 'text/plain' });
    expect(text.status).toBe(415);
    expectEnvelope(text.body, 415, 'UnsupportedMediaTypeError');
    const none = await call(vault.url, 'PUT', item('dup'), { key: ADMIN, raw: new TextEncoder().encode('{"secret_value":"z"}') });
    expect(none.status).toBe(415);
    expect(vault.plaintext('dup')).toBe('first');
    const charset = await call(vault.url, 'PUT', item('dup'), {
      key: ADMIN,
      raw: '{"secret_value":"first"}',
      contentType: 'application/json; charset=utf-8',
    });
    expect(charset.status).toBe(200);
  });

  it('413 for a body over the default 1 MiB limit', async () => {
    const big = 'x'.repeat(1024 * 1024 + 10);
    const res = await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: 'big', secret_value: big } });
    expect(res.status).toBe(413);
    expectEnvelope(res.body, 413, 'PayloadTooLargeError');
    expect(vault.names()).not.toContain('big');
    // The connection is still usable afterwards.
    expect((await call(vault.url, 'GET', SECRETS, { key: ADMIN })).status).toBe(200);
  });

  it('records every write in arrival order with its key, the value only when it reached the store, and counts requests', async () => {
    const before = vault.writes().length;
    const count = vault.requestCount();
    await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: 'order', secret_value: 'o1' } });
    await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: 'order', secret_value: 'o1-again' } });
    await call(vault.url, 'PUT', item('order'), { key: ADMIN, json: { secret_value: 'o2' } });
    await call(vault.url, 'PUT', item('order-missing'), { key: ADMIN, json: { secret_value: 'o3' } });
    await call(vault.url, 'DELETE', item('order'), { key: ADMIN });
    const writes = vault.writes().slice(before);
    expect(writes).toEqual([
      { seq: before + 1, op: 'create', name: 'order', value: 'o1', apiKey: ADMIN, status: 200 },
      // Refused: nothing was written, so no value is recorded as if it had been.
      { seq: before + 2, op: 'create', name: 'order', apiKey: ADMIN, status: 409 },
      { seq: before + 3, op: 'update', name: 'order', value: 'o2', apiKey: ADMIN, status: 200 },
      { seq: before + 4, op: 'update', name: 'order-missing', apiKey: ADMIN, status: 404 },
      { seq: before + 5, op: 'delete', name: 'order', apiKey: ADMIN, status: 200 },
    ]);
    expect(vault.requestCount()).toBe(count + 5);
  });

  it('writes one audit line per request with route, name, outcome and status, and never a value', async () => {
    const from = log.lines.length;
    await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: 'audited', secret_value: VALUES[0] } });
    await call(vault.url, 'PUT', item('audited'), { key: ADMIN, json: { secret_value: VALUES[1] } });
    await call(vault.url, 'POST', SECRETS, { key: ADMIN, json: { secret_value: VALUES[2] } });
    await call(vault.url, 'PUT', item('audited'), { key: READER, json: { secret_value: VALUES[3] } });
    await call(vault.url, 'GET', SECRETS, { key: READER });
    await call(vault.url, 'DELETE', item('audited'), { key: ADMIN });
    const records = log.records().slice(from);
    expect(records.map((r) => [r.route, r.name, r.outcome, r.status])).toEqual([
      ['POST /v1/organizations/secrets', 'audited', 'created', 200],
      ['PUT /v1/organizations/secrets/{secret_name}', 'audited', 'updated', 200],
      ['POST /v1/organizations/secrets', undefined, 'invalid', 422],
      ['PUT /v1/organizations/secrets/{secret_name}', 'audited', 'forbidden', 403],
      ['GET /v1/organizations/secrets', undefined, 'listed', 200],
      ['DELETE /v1/organizations/secrets/{secret_name}', 'audited', 'deleted', 200],
    ]);
    // Across everything this file did, no value and no API key reached the log.
    for (const secret of [...VALUES, ADMIN, READER]) expect(log.text).not.toContain(secret);
  });

  it('close() lets an in-flight request finish before it resolves', async () => {
    const other = await startVaultServer({ port: 0, apiKeys: [{ key: ADMIN, role: 'ADMIN' }] });
    other.faults.setLatency(300);
    const inFlight = call(other.url, 'POST', SECRETS, { key: ADMIN, json: { secret_name: 'late', secret_value: 'v' } });
    // Wait until the server has the request, then close while it is still being answered.
    await expect.poll(() => other.requestCount(), { timeout: 10_000 }).toBe(1);
    const closed = other.close();
    const res = await inFlight;
    await closed;
    expect(res.status).toBe(200);
    expect(other.names()).toEqual(['late']);
    await expect(fetch(`${other.url}${SECRETS}`)).rejects.toThrow();
  });
});

describe('413 with a configured limit', () => {
  it('rejects a body one byte over maxBodyBytes and accepts one at the limit', async () => {
    const vault = await startVaultServer({ port: 0, apiKeys: [{ key: ADMIN, role: 'ADMIN' }], maxBodyBytes: 100 });
    try {
      const at = JSON.stringify({ secret_name: 'a', secret_value: '' });
      const pad = 100 - at.length;
      const exact = await call(vault.url, 'POST', SECRETS, {
        key: ADMIN,
        raw: JSON.stringify({ secret_name: 'a', secret_value: 'v'.repeat(pad) }),
        contentType: 'application/json',
      });
      expect(exact.status).toBe(200);
      const over = await call(vault.url, 'POST', SECRETS, {
        key: ADMIN,
        raw: JSON.stringify({ secret_name: 'b', secret_value: 'v'.repeat(pad + 1) }),
        contentType: 'application/json',
      });
      expect(over.status).toBe(413);
      expectEnvelope(over.body, 413, 'PayloadTooLargeError');

      // Without a Content-Length (chunked), the limit is enforced while reading.
      const chunks = [Buffer.from('{"secret_name":"c","secret_value":"'), Buffer.alloc(200, 'v'), Buffer.from('"}')];
      const streamed = await fetch(`${vault.url}${SECRETS}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            for (const c of chunks) controller.enqueue(c);
            controller.close();
          },
        }),
        duplex: 'half',
      });
      expect(streamed.headers.get('transfer-encoding')).toBeNull();
      expect(streamed.status).toBe(413);
      expectEnvelope(await streamed.json(), 413, 'PayloadTooLargeError');
      expect(vault.names()).toEqual(['a']);
    } finally {
      await vault.close();
    }
  });
});
