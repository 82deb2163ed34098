import { describe, expect, it } from 'vitest';
import { referencedSecrets, SecretIndex } from '../../src/controller/secret-index.js';
import type { StoredMixpeekSecret } from '../../src/controller/types.js';

function cr(ns: string, name: string, spec: unknown): StoredMixpeekSecret {
  return { metadata: { namespace: ns, name, uid: `${ns}-${name}` }, spec };
}

describe('referencedSecrets', () => {
  it('lists secretRef and connectionRef in the CR namespace, once each', () => {
    expect(referencedSecrets(cr('a', 'x', { secretRef: { name: 's', key: 'k' }, connectionRef: { name: 'c' } }))).toEqual(['a/s', 'a/c']);
    expect(referencedSecrets(cr('a', 'x', { secretRef: { name: 's', key: 'k' }, connectionRef: { name: 's' } }))).toEqual(['a/s']);
  });

  it('reads an invalid spec leniently', () => {
    expect(referencedSecrets(cr('a', 'x', { secretRef: { name: 's' }, vaultSecretName: 5 }))).toEqual(['a/s']);
    expect(referencedSecrets(cr('a', 'x', null))).toEqual([]);
    expect(referencedSecrets(cr('a', 'x', { secretRef: 'oops', connectionRef: { name: '' } }))).toEqual([]);
  });
});

describe('SecretIndex', () => {
  it('maps a Secret to every CR referencing it, and only those', () => {
    const idx = new SecretIndex();
    idx.upsert(cr('a', 'x', { secretRef: { name: 's', key: 'k1' } }));
    idx.upsert(cr('a', 'y', { secretRef: { name: 's', key: 'k2' }, connectionRef: { name: 'conn' } }));
    idx.upsert(cr('b', 'z', { secretRef: { name: 's', key: 'k' } }));
    expect([...idx.lookup('a/s')].sort()).toEqual(['a/x', 'a/y']);
    expect([...idx.lookup('a/conn')]).toEqual(['a/y']);
    expect([...idx.lookup('b/s')]).toEqual(['b/z']);
    expect(idx.lookup('c/s').size).toBe(0);
  });

  it('an update moves the CR to its new Secret', () => {
    const idx = new SecretIndex();
    idx.upsert(cr('a', 'x', { secretRef: { name: 'old', key: 'k' } }));
    idx.upsert(cr('a', 'x', { secretRef: { name: 'new', key: 'k' } }));
    expect(idx.lookup('a/old').size).toBe(0);
    expect([...idx.lookup('a/new')]).toEqual(['a/x']);
    expect(idx.size).toBe(1);
  });

  it('a delete forgets the CR and empties entries', () => {
    const idx = new SecretIndex();
    idx.upsert(cr('a', 'x', { secretRef: { name: 's', key: 'k' } }));
    idx.upsert(cr('a', 'y', { secretRef: { name: 's', key: 'k' } }));
    idx.remove('a/x');
    expect([...idx.lookup('a/s')]).toEqual(['a/y']);
    idx.remove('a/y');
    idx.remove('a/y');
    expect(idx.lookup('a/s').size).toBe(0);
    expect(idx.size).toBe(0);
  });

  it('stays exact over many CRs (lookup touches only the Secret entry)', () => {
    const idx = new SecretIndex();
    for (let i = 0; i < 10_000; i++) idx.set(`ns/cr${i}`, [`ns/secret${i % 100}`]);
    expect(idx.lookup('ns/secret7').size).toBe(100);
    expect(idx.size).toBe(100);
  });
});
