import { describe, expect, it } from 'vitest';
import { claimOf, compareClaims, connectionIdOf, Ownership, type Claim } from '../../src/controller/ownership.js';

function claim(key: string, created: string | undefined, uid: string, name = 'shared', connectionId = 'operator'): Claim {
  const c: Claim = { key, vaultSecretName: name, connectionId, uid };
  if (created !== undefined) c.creationTimestamp = created;
  return c;
}

describe('Ownership', () => {
  it('the oldest claim by creationTimestamp owns the name, whatever the order seen', () => {
    const o = new Ownership();
    o.upsert(claim('b/new', '2026-11-02T00:00:00Z', 'u1'));
    const requeue = o.upsert(claim('a/old', '2026-11-01T00:00:00Z', 'u2'));
    expect(o.ownerOf('shared', 'operator')).toBe('a/old');
    expect(requeue).toEqual(['b/new']); // it lost ownership: must now report Conflict
  });

  it('equal timestamps are decided by uid', () => {
    const o = new Ownership();
    o.upsert(claim('x/1', '2026-11-01T00:00:00Z', 'bbb'));
    o.upsert(claim('y/2', '2026-11-01T00:00:00Z', 'aaa'));
    expect(o.ownerOf('shared', 'operator')).toBe('y/2');
  });

  it('a claim without a timestamp sorts last', () => {
    expect(compareClaims(claim('a', undefined, 'a'), claim('b', '2030-01-01T00:00:00Z', 'b'))).toBeGreaterThan(0);
  });

  it('a newer claim joining changes nothing for the others', () => {
    const o = new Ownership();
    o.upsert(claim('a/old', '2026-11-01T00:00:00Z', 'u1'));
    expect(o.upsert(claim('b/new', '2026-11-02T00:00:00Z', 'u2'))).toEqual([]);
  });

  it('different names or different credentials never conflict', () => {
    const o = new Ownership();
    o.upsert(claim('a/1', '2026-11-01T00:00:00Z', 'u1', 'one'));
    o.upsert(claim('b/2', '2026-11-02T00:00:00Z', 'u2', 'two'));
    o.upsert(claim('c/3', '2026-11-03T00:00:00Z', 'u3', 'one', 'secret:c/conn'));
    expect(o.ownerOf('one', 'operator')).toBe('a/1');
    expect(o.ownerOf('two', 'operator')).toBe('b/2');
    expect(o.ownerOf('one', 'secret:c/conn')).toBe('c/3');
    expect(o.ownerOf('three', 'operator')).toBeUndefined();
  });

  it('when the owner goes away the next oldest takes over, and everyone left is re-enqueued', () => {
    const o = new Ownership();
    o.upsert(claim('a/1', '2026-11-01T00:00:00Z', 'u1'));
    o.upsert(claim('b/2', '2026-11-02T00:00:00Z', 'u2'));
    o.upsert(claim('c/3', '2026-11-03T00:00:00Z', 'u3'));
    expect(o.remove('a/1').sort()).toEqual(['b/2', 'c/3']);
    expect(o.ownerOf('shared', 'operator')).toBe('b/2');
    expect(o.remove('c/3')).toEqual([]); // a non-owner leaving changes nothing
    expect(o.remove('b/2')).toEqual([]);
    expect(o.ownerOf('shared', 'operator')).toBeUndefined();
    expect(o.remove('zzz')).toEqual([]);
  });

  it('an owner renaming its target hands the old name over', () => {
    const o = new Ownership();
    o.upsert(claim('a/1', '2026-11-01T00:00:00Z', 'u1', 'old'));
    o.upsert(claim('b/2', '2026-11-02T00:00:00Z', 'u2', 'old'));
    const requeue = o.upsert(claim('a/1', '2026-11-01T00:00:00Z', 'u1', 'new'));
    expect(requeue).toEqual(['b/2']);
    expect(o.ownerOf('old', 'operator')).toBe('b/2');
    expect(o.ownerOf('new', 'operator')).toBe('a/1');
  });
});

describe('claimOf and connectionIdOf', () => {
  const secretRef = { name: 's', key: 'k' };

  it('derive the claim from a stored CR', () => {
    const c = claimOf({
      metadata: { namespace: 'ns', name: 'n', uid: 'u', creationTimestamp: '2026-11-01T00:00:00Z' },
      spec: { secretRef, vaultSecretName: 'v', connectionRef: { name: 'conn' } },
    });
    expect(c).toEqual({ key: 'ns/n', vaultSecretName: 'v', connectionId: 'secret:ns/conn', uid: 'u', creationTimestamp: '2026-11-01T00:00:00Z' });
    expect(claimOf({ metadata: { namespace: 'ns', name: 'n', uid: 'u' }, spec: { secretRef, vaultSecretName: 3 } })).toBeUndefined();
    expect(connectionIdOf('ns', undefined)).toBe('operator');
  });

  it('a CR whose spec is invalid elsewhere claims nothing: it never calls the vault, so it must not hold the name', () => {
    const meta = { namespace: 'ns', name: 'n', uid: 'u', creationTimestamp: '2026-11-01T00:00:00Z' };
    expect(claimOf({ metadata: meta, spec: { vaultSecretName: 'v' } })).toBeUndefined(); // no secretRef
    expect(claimOf({ metadata: meta, spec: { secretRef, vaultSecretName: 'v', deletionPolicy: 'Sometimes' } })).toBeUndefined();
    expect(claimOf({ metadata: meta, spec: { secretRef, vaultSecretName: 'v' } })?.vaultSecretName).toBe('v');
  });
});
