import { readFileSync } from 'node:fs';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startKubeSim, type KObject, type KubeSim } from '../kube-sim/index.js';
import { CrCache } from '../../src/controller/cr-cache.js';
import { CrWriter } from '../../src/controller/cr-writer.js';
import type { CrRef } from '../../src/controller/ports.js';
import { objectKey, type StoredMixpeekSecret } from '../../src/controller/types.js';

const CRS = 'mixpeeksecrets.mixpeek.com';
const NS = 'default';
const crd = parse(readFileSync(new URL('../../crds/mixpeeksecrets.mixpeek.com.yaml', import.meta.url), 'utf8')) as KObject;

let sim: KubeSim;
/** What the watch cache holds, set by each test. */
const watched = new Map<string, StoredMixpeekSecret>();
let writer: CrWriter;

beforeAll(async () => {
  sim = await startKubeSim({ tls: false });
  sim.store.create('customresourcedefinitions.apiextensions.k8s.io', crd);
  const kc = sim.kubeConfig();
  writer = new CrWriter(kc, kc.makeApiClient(CustomObjectsApi), new CrCache((key) => watched.get(key)));
});

afterAll(async () => {
  await sim.close();
});

function createCr(name: string): StoredMixpeekSecret {
  return sim.store.create(CRS, {
    apiVersion: 'mixpeek.com/v1alpha1',
    kind: 'MixpeekSecret',
    metadata: { name, namespace: NS },
    spec: { secretRef: { name: 'creds', key: 'k' }, vaultSecretName: `${name}_v` },
  }) as unknown as StoredMixpeekSecret;
}

function refOf(cr: StoredMixpeekSecret): CrRef {
  return { namespace: cr.metadata.namespace, name: cr.metadata.name, uid: cr.metadata.uid };
}

const patch = { status: { secretName: 'old_one', observedGeneration: 1 } };

describe('CrWriter.patchStatus', () => {
  it('writes the status of the CR it was asked about', async () => {
    const cr = createCr('same');
    watched.set(objectKey(NS, 'same'), cr);
    expect(await writer.patchStatus(refOf(cr), patch, new AbortController().signal)).toBe('Written');
    expect(sim.store.get(CRS, NS, 'same')?.status).toMatchObject({ secretName: 'old_one' });
  });

  it('a CR deleted and created again under the same name does not get the old one’s status: Gone, nothing sent', async () => {
    const old = createCr('recreated');
    sim.store.delete(CRS, NS, 'recreated');
    const fresh = createCr('recreated');
    expect(fresh.metadata.uid).not.toBe(old.metadata.uid);
    watched.set(objectKey(NS, 'recreated'), fresh);
    const before = sim.counters.get('patch', 'mixpeeksecrets/status');
    expect(await writer.patchStatus(refOf(old), patch, new AbortController().signal)).toBe('Gone');
    expect(sim.counters.get('patch', 'mixpeeksecrets/status')).toBe(before);
    expect(sim.store.get(CRS, NS, 'recreated')?.status).toBeUndefined();
  });

  it('a CR deleted meanwhile (the PATCH answered 404) is Gone, not an error', async () => {
    const cr = createCr('deleted');
    sim.store.delete(CRS, NS, 'deleted');
    expect(await writer.patchStatus(refOf(cr), patch, new AbortController().signal)).toBe('Gone');
  });
});
