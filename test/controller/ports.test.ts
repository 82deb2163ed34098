import { describe, expect, expectTypeOf, it } from 'vitest';
import type { MixpeekClient } from '../../src/mixpeek/client.js';
import { VaultError } from '../../src/mixpeek/errors.js';
import { isVaultFailure, type VaultPort } from '../../src/controller/ports.js';

describe('the vault port matches the real client', () => {
  it('MixpeekClient can be passed as the VaultPort', () => {
    expectTypeOf<MixpeekClient>().toExtend<VaultPort>();
  });

  it("the client's VaultError is recognised with its kind and Retry-After", () => {
    const e = new VaultError({ kind: 'RateLimited', operation: 'update', reason: '429 TooManyRequestsError', retryAfterMs: 5000, status: 429 });
    expect(isVaultFailure(e)).toBe(true);
    if (isVaultFailure(e)) expect([e.kind, e.retryAfterMs, e.status]).toEqual(['RateLimited', 5000, 429]);
  });

  it('other errors are not mistaken for vault failures', () => {
    expect(isVaultFailure(new Error('x'))).toBe(false);
    expect(isVaultFailure(Object.assign(new Error('x'), { kind: 'Something' }))).toBe(false);
    expect(isVaultFailure(null)).toBe(false);
    expect(isVaultFailure('RateLimited')).toBe(false);
  });
});
