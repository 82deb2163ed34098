import { describe, expect, it } from 'vitest';
import { CrCache } from '../../src/controller/cr-cache.js';
import type { StoredMixpeekSecret } from '../../src/controller/types.js';

function cr(resourceVersion: string, extra: Partial<StoredMixpeekSecret['metadata']> = {}, secretName = 'v'): StoredMixpeekSecret {
  return { metadata: { namespace: 'ns', name: 'n', uid: 'u', resourceVersion, ...extra }, status: { secretName } };
}

describe('CrCache', () => {
  it('serves our own write until the watch delivers it', () => {
    let watched: StoredMixpeekSecret | undefined = cr('5', {}, 'before');
    const cache = new CrCache(() => watched);
    cache.observed('ns/n', '5');
    cache.recordWrite('5', cr('6', {}, 'after'));
    expect(cache.get('ns', 'n')?.status?.secretName).toBe('after');
    watched = cr('6', {}, 'after');
    cache.observed('ns/n', '6');
    expect(cache.get('ns', 'n')).toBe(watched);
    expect(cache.pending).toBe(0);
  });

  it('a write answered with the object about to vanish (deleting, no finalizers left) leaves nothing behind', () => {
    // The watch's DELETE came first and forgot the key: the cache no longer has the CR.
    const cache = new CrCache(() => undefined);
    cache.observed('ns/n', '5');
    cache.forget('ns/n');
    const last = cr('6', { deletionTimestamp: '2026-11-26T10:05:00Z', finalizers: [] });
    cache.recordWrite('5', last);
    expect(cache.pending).toBe(0);
    expect(cache.isOwnStatusWrite('ns/n', last)).toBe(false);
    expect(cache.get('ns', 'n')).toBeUndefined();
  });

  it('a write on a CR being deleted that still holds another finalizer is remembered as usual', () => {
    const cache = new CrCache(() => cr('5'));
    cache.observed('ns/n', '5');
    cache.recordWrite('5', cr('6', { deletionTimestamp: '2026-11-26T10:05:00Z', finalizers: ['someone.else/keep'] }));
    expect(cache.pending).toBe(1);
  });
});
