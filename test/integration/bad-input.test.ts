/**
 * Inputs the operator cannot push: each gets its own Ready=False reason and a
 * Warning event, none reaches the vault, a healthy CR beside them keeps
 * syncing, and fixing the input is enough for the push to happen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IT_TIMEOUT, loadCrd, readyOf, scanAndClose, startHarness, waitFor, type Harness } from './harness.js';
import type { StoredMixpeekSecret } from '../../src/controller/types.js';
import type { KObject } from '../kube-sim/index.js';

const NS = 'inputs';

/** The CRD as it might have been before the schema: spec unchecked. */
function looseCrd(crd: KObject): KObject {
  const loose = structuredClone(crd);
  const spec = loose['spec'] as { versions: { schema: { openAPIV3Schema: { properties: Record<string, unknown> } } }[] };
  const properties = spec.versions[0]?.schema.openAPIV3Schema.properties;
  if (!properties) throw new Error('CRD without a schema');
  properties['spec'] = { type: 'object', description: 'Anything, before the schema existed.', 'x-kubernetes-preserve-unknown-fields': true };
  return loose;
}

describe('bad input', IT_TIMEOUT, () => {
  let h: Harness;
  let values: Record<'good' | 'otherKey' | 'fixedKey' | 'late' | 'filled' | 'invalidPrefix' | 'respec', string>;
  const badVaultNames = ['bad_missing_secret', 'bad_missing_key', 'bad_empty', 'bad_invalid_utf8', 'bad_overflow'];

  beforeAll(async () => {
    h = await startHarness();
    const crd = await loadCrd();
    // An object stored while the schema was looser, then the schema tightened under it.
    await h.putCrd(looseCrd(crd));
    await h.createNamespace(NS);
    await h.createMixpeekSecret(NS, 'broken', { secretRef: { name: 'Not A DNS Name' }, vaultSecretName: 'bad spec/with slash', deletionPolicy: 'Sometimes' });
    await h.putCrd(crd);

    values = {
      good: h.secretValue('good'),
      otherKey: h.secretValue('other-key'),
      fixedKey: h.secretValue('fixed-key'),
      late: h.secretValue('late'),
      filled: h.secretValue('filled'),
      invalidPrefix: h.secretValue('invalid-prefix'),
      respec: h.secretValue('respec'),
    };

    await h.putSecret(NS, 'good', { token: values.good });
    await h.putSecret(NS, 'no-key', { other: values.otherKey });
    await h.putSecret(NS, 'empty', { token: '' });
    // Not UTF-8: a readable prefix (so the scan can look for it) then 0xff 0xfe.
    await h.putSecretBytes(NS, 'binary', { token: Buffer.concat([Buffer.from(values.invalidPrefix), Buffer.from([0xff, 0xfe])]) });
    await h.putSecret(NS, 'respec', { token: values.respec });

    await h.createMixpeekSecret(NS, 'good', { secretRef: { name: 'good', key: 'token' }, vaultSecretName: 'good_token' });
    await h.createMixpeekSecret(NS, 'missing-secret', { secretRef: { name: 'not-yet', key: 'token' }, vaultSecretName: 'bad_missing_secret' });
    await h.createMixpeekSecret(NS, 'missing-key', { secretRef: { name: 'no-key', key: 'token' }, vaultSecretName: 'bad_missing_key' });
    await h.createMixpeekSecret(NS, 'empty', { secretRef: { name: 'empty', key: 'token' }, vaultSecretName: 'bad_empty' });
    await h.createMixpeekSecret(NS, 'binary', { secretRef: { name: 'binary', key: 'token' }, vaultSecretName: 'bad_invalid_utf8' });
    // Passes the schema's pattern, but is longer than a Go duration can be: only the run-time check catches it.
    await h.createMixpeekSecret(NS, 'overflow', { secretRef: { name: 'good', key: 'token' }, vaultSecretName: 'bad_overflow', refreshInterval: '9999999999h' });
    h.startOperator();
  });
  afterAll(() => scanAndClose(h));

  async function readyReason(name: string, reason: string): Promise<StoredMixpeekSecret> {
    return waitFor(`${name} Ready reason ${reason}`, async () => {
      const cr = await h.getMixpeekSecret(NS, name);
      return readyOf(cr)?.reason === reason ? cr : undefined;
    });
  }

  async function warning(name: string, reason: string): Promise<void> {
    await waitFor(`${name} Warning ${reason}`, async () => (await h.eventsFor(NS, name)).some((e) => e.type === 'Warning' && e.reason === reason));
  }

  /** Names the vault was asked about, from its audit log (every request, failed ones too). */
  function vaultNamesSeen(): Set<string> {
    return new Set(h.vaultAudit().flatMap((r) => (r.name === undefined ? [] : [r.name])));
  }

  it('each bad input gets its reason and a Warning event, with no vault call', async () => {
    const cases: [string, string, string][] = [
      ['missing-secret', 'SecretNotFound', 'not-yet'],
      ['missing-key', 'KeyNotFound', '"token"'],
      ['empty', 'EmptyValue', 'empty'],
      ['binary', 'InvalidValue', 'UTF-8'],
      ['overflow', 'InvalidSpec', 'refreshInterval'],
    ];
    for (const [name, reason, mentions] of cases) {
      const cr = await readyReason(name, reason);
      expect(readyOf(cr)).toMatchObject({ status: 'False', reason });
      expect(readyOf(cr)?.message).toContain(mentions);
      expect(cr.status?.syncedResourceVersion).toBeUndefined();
      await warning(name, reason);
    }
    // Invalid under the current schema: the API server refuses any status write for it (422, as
    // before validation ratcheting), so the Warning event is the report, and it is not retried.
    const events = await waitFor('broken: Warning InvalidSpec', async () => {
      const e = (await h.eventsFor(NS, 'broken')).filter((x) => x.type === 'Warning' && x.reason === 'InvalidSpec');
      return e.length > 0 ? e : undefined;
    });
    expect(events[0]?.message).toContain('spec.deletionPolicy must be Retain or Delete');
    expect(events[0]?.message).toContain('spec.vaultSecretName');
    const broken = h.operators[0]?.reconciles(NS, 'broken') ?? [];
    expect(broken.length).toBeGreaterThan(0);
    expect(broken.every((r) => r.outcome === 'Blocked' && r.reason === 'InvalidSpec')).toBe(true);

    // The healthy one beside them is synced.
    const good = await readyReason('good', 'Created');
    expect(good.status?.syncedResourceVersion).toBeDefined();
    expect(h.vault.plaintext('good_token')).toBe(values.good);

    const seen = vaultNamesSeen();
    for (const n of badVaultNames) expect(seen.has(n)).toBe(false);
    expect(h.vault.writes().every((w) => w.name === 'good_token')).toBe(true);
    // Every request the vault got was about the good one: nothing nameless either.
    expect(h.vaultAudit().every((r) => r.name === 'good_token')).toBe(true);
  });

  it('a healthy CR keeps syncing while the others are blocked', async () => {
    const next = h.secretValue('good-2');
    const rv = await h.putSecret(NS, 'good', { token: next });
    await h.waitSynced(NS, 'good', rv);
    expect(h.vault.plaintext('good_token')).toBe(next);
    for (const n of badVaultNames) expect(vaultNamesSeen().has(n)).toBe(false);
  });

  it('fixing the input is enough: each one is pushed', async () => {
    const lateRv = await h.putSecret(NS, 'not-yet', { token: values.late });
    const keyRv = await h.putSecret(NS, 'no-key', { other: values.otherKey, token: values.fixedKey });
    const filledRv = await h.putSecret(NS, 'empty', { token: values.filled });
    const binaryValue = h.secretValue('now-utf8');
    const binaryRv = await h.putSecret(NS, 'binary', { token: binaryValue });
    await h.patchMixpeekSecretSpec(NS, 'broken', { secretRef: { name: 'respec', key: 'token' }, vaultSecretName: 'fixed_spec', deletionPolicy: 'Retain' });
    await h.patchMixpeekSecretSpec(NS, 'overflow', { refreshInterval: '1h' });

    const expectPushed = async (name: string, rv: string | undefined, vaultName: string, value: string): Promise<void> => {
      const cr = await waitFor(`${name} pushed`, async () => {
        const c = await h.getMixpeekSecret(NS, name);
        return readyOf(c)?.status === 'True' && (rv === undefined || c?.status?.syncedResourceVersion === rv) ? c : undefined;
      });
      expect(readyOf(cr)?.reason).toBe('Created');
      expect(cr.status?.secretName).toBe(vaultName);
      expect(h.vault.plaintext(vaultName)).toBe(value);
    };
    await expectPushed('missing-secret', lateRv, 'bad_missing_secret', values.late);
    await expectPushed('missing-key', keyRv, 'bad_missing_key', values.fixedKey);
    await expectPushed('empty', filledRv, 'bad_empty', values.filled);
    await expectPushed('binary', binaryRv, 'bad_invalid_utf8', binaryValue);
    await expectPushed('broken', undefined, 'fixed_spec', values.respec);
    await expectPushed('overflow', undefined, 'bad_overflow', h.vault.plaintext('good_token') ?? 'not pushed');
    const broken = await h.getMixpeekSecret(NS, 'broken');
    expect(broken?.status?.observedGeneration).toBe(broken?.metadata.generation);
    // The invalid name was never sent anywhere.
    expect(vaultNamesSeen().has('bad spec/with slash')).toBe(false);
  });

  it('a synced Secret deleted: SecretNotFound, the vault keeps the last value, no vault call', async () => {
    const kept = h.vault.plaintext('good_token');
    expect(kept).toBeDefined();
    const requests = h.vault.requestCount();
    await h.deleteSecret(NS, 'good');
    const cr = await readyReason('good', 'SecretNotFound');
    expect(readyOf(cr)?.status).toBe('False');
    await warning('good', 'SecretNotFound');
    expect(h.vault.requestCount()).toBe(requests);
    expect(h.vault.plaintext('good_token')).toBe(kept);
  });
});
