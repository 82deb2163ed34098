/**
 * What happens to the vault secret when its MixpeekSecret goes or is renamed:
 * deletionPolicy Delete holds a finalizer and deletes in the vault first;
 * Retain never holds one and never deletes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IT_TIMEOUT, readyOf, scanAndClose, startHarness, waitFor, type Harness, type RunningOperator } from './harness.js';
import { FINALIZER, type StoredMixpeekSecret } from '../../src/controller/types.js';

const NS = 'lifecycle';

describe('deletion policy and renames', IT_TIMEOUT, () => {
  let h: Harness;
  let op: RunningOperator;
  beforeAll(async () => {
    h = await startHarness({ namespaces: [NS] });
    op = h.startOperator();
  });
  afterAll(() => scanAndClose(h));

  async function createSynced(name: string, vaultSecretName: string, deletionPolicy?: 'Delete' | 'Retain'): Promise<{ cr: StoredMixpeekSecret; value: string }> {
    const value = h.secretValue(name);
    const rv = await h.putSecret(NS, `${name}-src`, { token: value });
    await h.createMixpeekSecret(NS, name, {
      secretRef: { name: `${name}-src`, key: 'token' },
      vaultSecretName,
      ...(deletionPolicy !== undefined && { deletionPolicy }),
    });
    const cr = await waitFor(`${name} synced`, async () => {
      const c = await h.getMixpeekSecret(NS, name);
      return c?.status?.syncedResourceVersion === rv && readyOf(c)?.status === 'True' ? c : undefined;
    });
    expect(h.vault.plaintext(vaultSecretName)).toBe(value);
    return { cr, value };
  }

  async function gone(name: string): Promise<void> {
    await waitFor(`${name} gone`, async () => (await h.getMixpeekSecret(NS, name)) === undefined);
  }

  /**
   * Touches a CR that exists only for this and waits for the operator to
   * reconcile it: the watch delivers in order, so by then the operator has
   * handled every MixpeekSecret event that came before (a deletion included).
   */
  let barriers = 0;
  async function barrier(): Promise<void> {
    if (!(await h.getMixpeekSecret(NS, 'barrier'))) {
      await h.createMixpeekSecret(NS, 'barrier', { secretRef: { name: 'barrier-absent', key: 'token' }, vaultSecretName: 'barrier_token' });
    }
    const before = new Set(op.reconciles(NS, 'barrier').map((r) => r.reconcileID));
    // A spec change (a new generation): the operator skips changes that leave spec, status and finalizers alone.
    barriers += 1;
    await h.patchMixpeekSecretSpec(NS, 'barrier', { vaultSecretName: `barrier_token_${barriers}` });
    await waitFor('barrier reconciled', () => op.reconciles(NS, 'barrier').some((r) => !before.has(r.reconcileID)));
  }

  function deletesOf(vaultName: string): number {
    return h.vault.writes().filter((w) => w.op === 'delete' && w.name === vaultName).length;
  }

  it('Delete: the finalizer holds the CR until the vault secret is deleted, then the CR goes', async () => {
    await createSynced('del', 'del_token', 'Delete');
    const cr = await waitFor('finalizer added', async () => {
      const c = await h.getMixpeekSecret(NS, 'del');
      return c?.metadata.finalizers?.includes(FINALIZER) ? c : undefined;
    });
    expect(cr.metadata.finalizers).toEqual([FINALIZER]);

    // The vault refuses deletes for a while: the CR must stay, held by the finalizer.
    h.vault.faults.failNext(1000, 403, { route: 'delete' });
    await h.deleteMixpeekSecret(NS, 'del');
    await waitFor('two refused deletes', () => h.vaultAudit().filter((r) => r.name === 'del_token' && r.route.startsWith('DELETE') && r.outcome === 'injected').length >= 2);
    const held = await h.getMixpeekSecret(NS, 'del');
    expect(held?.metadata.deletionTimestamp).toBeDefined();
    expect(held?.metadata.finalizers).toEqual([FINALIZER]);
    expect(h.vault.plaintext('del_token')).toBeDefined();
    expect(readyOf(held)).toMatchObject({ status: 'False', reason: 'Forbidden' });

    h.vault.faults.clear();
    await gone('del');
    expect(h.vault.plaintext('del_token')).toBeUndefined();
    expect(deletesOf('del_token')).toBe(1);
    const events = await h.eventsFor(NS, 'del');
    expect(events.some((e) => e.type === 'Normal' && e.reason === 'Deleted' && (e.message ?? '').includes('del_token'))).toBe(true);
  });

  it('Delete: adding the finalizer and pushing in one reconcile pushes each value once', async () => {
    // The finalizer write and the status write both come back through the watch; neither may trigger a second push.
    const names = Array.from({ length: 8 }, (_, i) => `once-${i}`);
    const rvs = await Promise.all(names.map((n) => h.putSecret(NS, `${n}-src`, { token: h.secretValue(n) })));
    await Promise.all(
      names.map((n) => h.createMixpeekSecret(NS, n, { secretRef: { name: `${n}-src`, key: 'token' }, vaultSecretName: `${n}_token`, deletionPolicy: 'Delete' })),
    );
    for (const [i, n] of names.entries()) {
      await waitFor(`${n} synced`, async () => {
        const c = await h.getMixpeekSecret(NS, n);
        return c?.status?.syncedResourceVersion === rvs[i] && c?.metadata.finalizers?.includes(FINALIZER);
      });
    }
    // The finalizer write comes back through the watch and is reconciled once more: that is the one that could push again.
    for (const n of names) {
      await waitFor(`${n} reconciled after its push`, () => {
        const outcomes = op.reconciles(NS, n).map((r) => r.outcome);
        const pushed = outcomes.indexOf('Pushed');
        return pushed >= 0 && pushed < outcomes.length - 1;
      });
    }
    for (const n of names) {
      expect(h.vault.writes().filter((w) => w.name === `${n}_token`).map((w) => [w.op, w.status])).toEqual([
        ['update', 404],
        ['create', 200],
      ]);
    }
  });

  it('Retain (the default): no finalizer, and deleting the CR keeps the vault secret', async () => {
    const { cr, value } = await createSynced('keep', 'keep_token');
    expect(cr.metadata.finalizers ?? []).toEqual([]);
    await h.deleteMixpeekSecret(NS, 'keep');
    await gone('keep');
    // The operator has seen the deletion (and could have acted on it) once it reconciles what came after.
    await barrier();
    expect(h.vault.plaintext('keep_token')).toBe(value);
    expect(deletesOf('keep_token')).toBe(0);
  });

  it('rename with Delete: the new name is written, then the old one deleted', async () => {
    const { value } = await createSynced('mv-del', 'mv_del_old', 'Delete');
    await h.patchMixpeekSecretSpec(NS, 'mv-del', { vaultSecretName: 'mv_del_new' });
    const cr = await waitFor('renamed', async () => {
      const c = await h.getMixpeekSecret(NS, 'mv-del');
      return c?.status?.secretName === 'mv_del_new' && c.status.observedGeneration === c.metadata.generation && readyOf(c)?.status === 'True' ? c : undefined;
    });
    expect(readyOf(cr)?.reason).toBe('Created');
    expect(h.vault.plaintext('mv_del_new')).toBe(value);
    expect(h.vault.plaintext('mv_del_old')).toBeUndefined();
    const writes = h.vault.writes();
    const created = writes.findIndex((w) => w.name === 'mv_del_new' && w.op === 'create' && w.status === 200);
    const deleted = writes.findIndex((w) => w.name === 'mv_del_old' && w.op === 'delete' && w.status === 200);
    expect(created).toBeGreaterThanOrEqual(0);
    expect(deleted).toBeGreaterThan(created);
  });

  it('rename with Retain: the new name is written and the old one kept', async () => {
    const { value } = await createSynced('mv-keep', 'mv_keep_old');
    await h.patchMixpeekSecretSpec(NS, 'mv-keep', { vaultSecretName: 'mv_keep_new' });
    await waitFor('renamed', async () => {
      const c = await h.getMixpeekSecret(NS, 'mv-keep');
      return c?.status?.secretName === 'mv_keep_new' && readyOf(c)?.status === 'True';
    });
    expect(h.vault.plaintext('mv_keep_new')).toBe(value);
    expect(h.vault.plaintext('mv_keep_old')).toBe(value);
    expect(deletesOf('mv_keep_old')).toBe(0);
  });

  it('Delete -> Retain removes the finalizer; deleting then keeps the vault secret', async () => {
    const { value } = await createSynced('switch', 'switch_token', 'Delete');
    await waitFor('finalizer added', async () => (await h.getMixpeekSecret(NS, 'switch'))?.metadata.finalizers?.includes(FINALIZER));
    await h.patchMixpeekSecretSpec(NS, 'switch', { deletionPolicy: 'Retain' });
    await waitFor('finalizer removed', async () => {
      const c = await h.getMixpeekSecret(NS, 'switch');
      return c !== undefined && !(c.metadata.finalizers ?? []).includes(FINALIZER);
    });
    await h.deleteMixpeekSecret(NS, 'switch');
    await gone('switch');
    await barrier();
    expect(h.vault.plaintext('switch_token')).toBe(value);
    expect(deletesOf('switch_token')).toBe(0);
  });
});
