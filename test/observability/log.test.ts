import { describe, expect, it } from 'vitest';
import { CapturedLog, createLogger } from '../../src/observability/log.js';

describe('logger redaction', () => {
  it('never writes api keys, authorization headers or secret values that reach a log call', () => {
    const out = new CapturedLog();
    const log = createLogger({ level: 'debug', destination: out });
    const secret = 'sv-9f2c1d-radioactive';
    log.info({ headers: { authorization: `Bearer ${secret}` } }, 'request');
    log.info({ apiKey: secret }, 'key loaded');
    log.info({ req: { body: { secret_value: secret } } }, 'body');
    log.info({ secret_value: secret }, 'flat body');
    expect(out.lines).toHaveLength(4);
    expect(out.text).not.toContain(secret);
    expect(out.text).toContain('[REDACTED]');
  });

  it('writes JSON lines with an ISO time and a named level', () => {
    const out = new CapturedLog();
    createLogger({ destination: out, base: { component: 'test' } }).warn('hello');
    const [rec] = out.records();
    expect(rec).toMatchObject({ level: 'warn', component: 'test', msg: 'hello' });
    expect(typeof rec?.time).toBe('string');
  });
});
