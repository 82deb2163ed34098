import { describe, expect, it } from 'vitest';
import { InvalidSpecError, parseDurationMs, parseSpec } from '../../src/controller/spec.js';

const minimal = { secretRef: { name: 'stripe-credentials', key: 'api-key' }, vaultSecretName: 'stripe_api_key' };

describe('parseSpec', () => {
  it('applies the schema defaults to a minimal spec', () => {
    const r = parseSpec(minimal);
    expect(r).toEqual({
      ok: true,
      value: {
        spec: { ...minimal, createIfMissing: true, deletionPolicy: 'Retain', refreshInterval: '0s' },
        refreshMs: 0,
      },
    });
  });

  it('keeps every field it is given and converts the refresh interval', () => {
    const r = parseSpec({
      ...minimal,
      createIfMissing: false,
      deletionPolicy: 'Delete',
      refreshInterval: '1h30m',
      connectionRef: { name: 'mixpeek-api' },
    });
    if (!r.ok) throw r.error;
    expect(r.value.spec).toMatchObject({ createIfMissing: false, deletionPolicy: 'Delete', connectionRef: { name: 'mixpeek-api' } });
    expect(r.value.refreshMs).toBe(90 * 60_000);
  });

  it.each([
    ['not an object', 'x', 'spec is required'],
    ['null', null, 'spec is required'],
    ['no secretRef', { vaultSecretName: 'a' }, 'spec.secretRef is required'],
    ['secretRef without key', { secretRef: { name: 'a' }, vaultSecretName: 'a' }, 'spec.secretRef.key'],
    ['uppercase Secret name', { ...minimal, secretRef: { name: 'Creds', key: 'k' } }, 'spec.secretRef.name'],
    ['Secret name too long', { ...minimal, secretRef: { name: 'a'.repeat(254), key: 'k' } }, 'at most 253'],
    ['key with a slash', { ...minimal, secretRef: { name: 'a', key: 'a/b' } }, 'spec.secretRef.key'],
    ['no vaultSecretName', { secretRef: minimal.secretRef }, 'spec.vaultSecretName'],
    ['vaultSecretName with a slash', { ...minimal, vaultSecretName: 'a/b' }, 'spec.vaultSecretName'],
    ['vaultSecretName of 101 chars', { ...minimal, vaultSecretName: 'a'.repeat(101) }, 'at most 100'],
    ['createIfMissing a string', { ...minimal, createIfMissing: 'yes' }, 'spec.createIfMissing'],
    ['deletionPolicy unknown', { ...minimal, deletionPolicy: 'Orphan' }, 'Retain or Delete'],
    ['refreshInterval garbage', { ...minimal, refreshInterval: '10 minutes' }, 'spec.refreshInterval'],
    ['refreshInterval negative', { ...minimal, refreshInterval: '-5m' }, 'must not be negative'],
    // A tenant must not spend the shared vault quota in a loop.
    ['refreshInterval under a minute', { ...minimal, refreshInterval: '30s' }, 'spec.refreshInterval must be 0 or at least 1m'],
    ['refreshInterval a number', { ...minimal, refreshInterval: 60 }, 'spec.refreshInterval'],
    ['connectionRef without name', { ...minimal, connectionRef: {} }, 'spec.connectionRef.name'],
  ])('rejects %s', (_what, raw, problem) => {
    const r = parseSpec(raw);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(InvalidSpecError);
    expect(r.error.kind).toBe('InvalidSpec');
    expect(r.error.problems.join('\n')).toContain(problem);
  });

  it('lists every problem, not just the first', () => {
    const r = parseSpec({ secretRef: {}, vaultSecretName: '', deletionPolicy: 'x' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.problems).toHaveLength(4);
  });

  it('accepts the longest names Kubernetes and the vault allow', () => {
    const name = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(name).toHaveLength(253);
    expect(parseSpec({ secretRef: { name, key: 'k'.repeat(253) }, vaultSecretName: 'v'.repeat(100) }).ok).toBe(true);
  });
});

describe('parseDurationMs (Go duration syntax)', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['300ms', 300],
    ['1.5h', 5_400_000],
    ['2h45m', 9_900_000],
    ['1m30.5s', 90_500],
    ['.5s', 500],
    ['5.s', 5000],
    ['1000000ns', 1],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['1500μs', 1.5],
    ['+10s', 10_000],
    ['-10s', -10_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['', '1', 's', '.s', '1d', '1 h', 'h1', '1h-5m', '10sx', '-', '3000000h'])('rejects %j', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });
});
