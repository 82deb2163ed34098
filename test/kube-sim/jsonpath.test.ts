import { describe, expect, it } from 'vitest';
import { evaluateJsonPath, JsonPathError } from './jsonpath.js';

const cr = {
  apiVersion: 'mixpeek.com/v1alpha1',
  kind: 'MixpeekSecret',
  metadata: {
    name: 'openai',
    namespace: 'apps',
    creationTimestamp: '2026-11-26T02:00:00Z',
    labels: { app: 'web' },
    annotations: { 'example.com/owner': 'team-a', 'a.b': 'dotted' },
  },
  spec: { vaultSecretName: 'openai_key', secretRef: { name: 'src', key: 'token' }, replicas: 0, enabled: false, tags: ['a', 'b', 'c'] },
  status: {
    observedGeneration: 3,
    conditions: [
      { type: 'Ready', status: 'True', reason: 'Synced', lastTransitionTime: '2026-11-26T02:05:00Z' },
      { type: 'Degraded', status: 'False', reason: 'AsExpected' },
    ],
    attempts: [{ n: 1 }, { n: 5 }, { n: 9 }],
  },
};

describe('evaluateJsonPath', () => {
  it.each<[string, unknown[]]>([
    ['.metadata.name', ['openai']],
    ['{.metadata.name}', ['openai']],
    ['$.metadata.name', ['openai']],
    ['.spec.secretRef.name', ['src']],
    ['.spec.secretRef', [{ name: 'src', key: 'token' }]],
    // Falsy values are values, not "missing".
    ['.spec.replicas', [0]],
    ['.spec.enabled', [false]],
    ['.status.observedGeneration', [3]],
    ['.status.conditions[?(@.type=="Ready")].status', ['True']],
    ['.status.conditions[?(@.type == "Degraded")].reason', ['AsExpected']],
    [".status.conditions[?(@.type=='Ready')].reason", ['Synced']],
    ['.status.conditions[?(@.type!="Ready")].type', ['Degraded']],
    ['.status.conditions[?(@.lastTransitionTime)].type', ['Ready']],
    ['.status.attempts[?(@.n > 4)].n', [5, 9]],
    ['.status.attempts[?(@.n <= 5)].n', [1, 5]],
    ['.status.conditions[0].type', ['Ready']],
    ['.status.conditions[-1].type', ['Degraded']],
    ['.spec.tags[1]', ['b']],
    ['.spec.tags[0:2]', ['a', 'b']],
    ['.spec.tags[1:]', ['b', 'c']],
    ['.spec.tags[*]', ['a', 'b', 'c']],
    ['.status.conditions[*].type', ['Ready', 'Degraded']],
    ['.metadata.labels.*', ['web']],
    // Checked against kubectl 1.32 (`kubectl label --local -f pod.json x=y -o jsonpath=...`).
    [".metadata.annotations['a\\.b']", ['dotted']],
    [".metadata['name','namespace']", ['openai', 'apps']],
    ['.status.conditions[?(@.status=="True")]', [cr.status.conditions[0]]],
    ['.status.attempts[?(@.n>4)].n', [5, 9]],
    ['.metadata.annotations.a\\.b', ['dotted']],
    ['.metadata.annotations.example\\.com/owner', ['team-a']],
    ["['metadata']['name']", ['openai']],
    ['..reason', ['Synced', 'AsExpected']],
  ])('%s', (path, want) => {
    expect(evaluateJsonPath(cr, path)).toEqual(want);
  });

  it.each([
    '.spec.missing',
    '.spec.secretRef.name.deeper',
    '.status.conditions[?(@.type=="Stalled")].status',
    '.status.conditions[5].type',
    '.spec.tags.name',
    '.metadata.name[0]',
    '.spec.secretRef[?(@.name=="src")]',
    // A quoted key is a dotted path unless its dots are escaped, as in client-go.
    ".metadata.annotations['example.com/owner']",
    ".metadata.annotations['a.b']",
  ])('%s selects nothing instead of failing', (path) => {
    expect(evaluateJsonPath(cr, path)).toEqual([]);
  });

  it('works on objects with no status at all', () => {
    expect(evaluateJsonPath({ metadata: { name: 'x' } }, '.status.conditions[?(@.type=="Ready")].status')).toEqual([]);
  });

  it.each(['.spec[', '.spec[?(@.a ~ 1)]', '.status.conditions[?(@.type=="x"]', 'spec', '.metadata.annotations["a.b"]'])('rejects %j', (path) => {
    expect(() => evaluateJsonPath(cr, path)).toThrow(JsonPathError);
  });
});
