import { describe, expect, it } from 'vitest';
import { fieldLabelsFor, parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';
import type { KObject } from './types.js';

const prod = { app: 'web', env: 'prod', tier: '3' };
const dev = { app: 'web', env: 'dev' };
const bare = { app: 'db' };

describe('parseLabelSelector matches like Kubernetes', () => {
  const cases: [selector: string, labels: Record<string, string> | undefined, want: boolean][] = [
    ['', prod, true],
    ['', undefined, true],
    ['env=prod', prod, true],
    ['env==prod', prod, true],
    ['env=prod', dev, false],
    ['env=prod', bare, false],
    ['env!=prod', dev, true],
    ['env!=prod', prod, false],
    // A missing label is "not equal" and "not in".
    ['env!=prod', bare, true],
    ['env notin (prod)', bare, true],
    ['env notin (prod,dev)', dev, false],
    ['env in (prod,dev)', dev, true],
    ['env in (prod, staging)', dev, false],
    ['env in (prod)', bare, false],
    ['env', dev, true],
    ['env', bare, false],
    ['!env', bare, true],
    ['!env', dev, false],
    ['app=web,env=prod', prod, true],
    ['app=web,env=prod', dev, false],
    ['app=web, !env', bare, false],
    ['app=db, !env', bare, true],
    ['  app = web ,env in ( dev ) ', dev, true],
    ['tier>2', prod, true],
    ['tier>3', prod, false],
    ['tier<4', prod, true],
    ['tier>2', dev, false],
    // "env=" selects an empty value, which a missing label is not.
    ['env=', { env: '' }, true],
    ['env=', bare, false],
    ['env in (,prod)', { env: '' }, true],
    ['example.com/owner=team-a', { 'example.com/owner': 'team-a' }, true],
    ['in=notin', { in: 'notin' }, true],
    ['x in (in, notin)', { x: 'notin' }, true],
  ];

  it.each(cases)('%j on %j → %s', (selector, labels, want) => {
    expect(parseLabelSelector(selector)(labels)).toBe(want);
  });
});

describe('parseLabelSelector rejects what the apiserver rejects', () => {
  it.each([
    'env=prod,',
    ',env=prod',
    'env in prod',
    'env in ()',
    'env in (a b)',
    'env in (a',
    'env=prod=x',
    '!env=prod',
    '=prod',
    'env prod',
    'env=(x)',
    '-bad=x',
    'env=-bad',
    'UPPER.com/x=y',
    `k=${'a'.repeat(64)}`,
    'tier>two',
    'a!b',
  ])('%j', (selector) => {
    expect(() => parseLabelSelector(selector)).toThrow(SelectorError);
  });

  it('says what it found', () => {
    expect(() => parseLabelSelector('env=prod,')).toThrow("found '', expected: identifier after ','");
    expect(() => parseLabelSelector('env in ()')).toThrow("unable to parse requirement: for 'in', 'notin' operators, values set can't be empty");
  });
});

function secret(name: string, namespace: string, type = 'Opaque'): KObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type };
}

describe('parseFieldSelector', () => {
  const a = secret('api-key', 'apps');
  const b = secret('db', 'other', 'kubernetes.io/tls');

  it.each<[string, KObject, boolean]>([
    ['', a, true],
    ['metadata.name=api-key', a, true],
    ['metadata.name==api-key', a, true],
    ['metadata.name=api-key', b, false],
    ['metadata.name!=api-key', b, true],
    ['metadata.namespace=apps', a, true],
    ['metadata.namespace=apps,metadata.name=db', b, false],
    ['metadata.namespace=other,metadata.name=db', b, true],
    ['type=kubernetes.io/tls', b, true],
    ['type!=Opaque', a, false],
    // Escapes let a value hold a comma or an equals sign.
    ['metadata.name=a\\,b', secret('a,b', 'x'), true],
    ['metadata.name=a\\=b', secret('a=b', 'x'), true],
    ['metadata.name=', { metadata: {} }, true],
  ])('%j', (selector, obj, want) => {
    expect(parseFieldSelector(selector)(obj)).toBe(want);
  });

  it('answers an unsupported field label the way the apiserver does', () => {
    expect(() => parseFieldSelector('spec.foo=bar')).toThrow(new SelectorError('UnsupportedField', 'field label not supported: spec.foo'));
    let caught: unknown;
    try {
      parseFieldSelector('status.phase=Active');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SelectorError);
    expect((caught as SelectorError).kind).toBe('UnsupportedField');
  });

  it('supports `type` only where the resource has it', () => {
    expect(() => parseFieldSelector('type=Opaque', fieldLabelsFor('mixpeek.com', 'mixpeeksecrets'))).toThrow(/field label not supported: type/);
    expect(parseFieldSelector('metadata.name=x', fieldLabelsFor('mixpeek.com', 'mixpeeksecrets'))({ metadata: { name: 'x' } })).toBe(true);
    expect(parseFieldSelector('type=Opaque', fieldLabelsFor('', 'secrets'))(secret('s', 'n'))).toBe(true);
  });

  it('knows the event field labels', () => {
    const ev: KObject = { metadata: { name: 'e' }, involvedObject: { kind: 'MixpeekSecret', name: 'm' }, reason: 'Synced', type: 'Normal' };
    const fields = fieldLabelsFor('', 'events');
    expect(parseFieldSelector('involvedObject.kind=MixpeekSecret,involvedObject.name=m,reason=Synced', fields)(ev)).toBe(true);
    expect(parseFieldSelector('involvedObject.name=other', fields)(ev)).toBe(false);
  });

  it.each(['metadata.name', 'metadata.name=a=b', 'metadata.name=a\\x', 'metadata.name~a'])('rejects %j', (selector) => {
    expect(() => parseFieldSelector(selector)).toThrow(SelectorError);
  });

  it('does not trim around the operator, as the apiserver does not', () => {
    expect(() => parseFieldSelector('metadata.name = x')).toThrow(/field label not supported: metadata.name /);
  });
});
