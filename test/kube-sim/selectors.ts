/**
 * Label and field selectors with the grammar and matching rules of k8s.io/apimachinery: a selector that parses
 * there parses here and selects the same objects; one that fails there throws a SelectorError here.
 */
import type { KObject } from './types.js';

export type SelectorErrorKind = 'Syntax' | 'InvalidValue' | 'UnsupportedField';

/** The apiserver answers all of these 400 BadRequest with the message. */
export class SelectorError extends Error {
  readonly kind: SelectorErrorKind;
  constructor(kind: SelectorErrorKind, message: string) {
    super(message);
    this.kind = kind;
    this.name = 'SelectorError';
  }
}

export type LabelMatcher = (labels: Record<string, string> | undefined) => boolean;

// ---- label selectors ---------------------------------------------------------------------------------------

type Token =
  | { t: 'id'; v: string }
  | { t: '!' | '=' | '==' | '!=' | '(' | ')' | ',' | '>' | '<' | 'eos'; v: string };

const SPECIAL = new Set(['!', '=', '(', ')', ',', '>', '<']);

function lex(input: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i] ?? '';
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const two = input.slice(i, i + 2);
    if (two === '==' || two === '!=') {
      out.push({ t: two, v: two });
      i += 2;
      continue;
    }
    if (SPECIAL.has(ch)) {
      out.push({ t: ch as '!' | '=' | '(' | ')' | ',' | '>' | '<', v: ch });
      i++;
      continue;
    }
    let j = i;
    while (j < input.length && !SPECIAL.has(input[j] ?? '') && !/\s/.test(input[j] ?? '')) j++;
    out.push({ t: 'id', v: input.slice(i, j) });
    i = j;
  }
  out.push({ t: 'eos', v: '' });
  return out;
}

type Operator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

interface Requirement {
  key: string;
  op: Operator;
  values: string[];
}

class LabelParser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos] ?? { t: 'eos', v: '' };
  }

  private next(): Token {
    const tok = this.peek();
    if (this.pos < this.tokens.length) this.pos++;
    return tok;
  }

  parse(): Requirement[] {
    const reqs: Requirement[] = [];
    for (;;) {
      const tok = this.peek();
      if (tok.t === 'eos') return reqs;
      if (tok.t !== 'id' && tok.t !== '!') {
        throw new SelectorError('Syntax', `found '${tok.v}', expected: !, identifier, or 'end of string'`);
      }
      reqs.push(this.requirement());
      const sep = this.next();
      if (sep.t === 'eos') return reqs;
      if (sep.t !== ',') throw new SelectorError('Syntax', `found '${sep.v}', expected: ',' or 'end of string'`);
      const after = this.peek();
      if (after.t !== 'id' && after.t !== '!') {
        throw new SelectorError('Syntax', `found '${after.v}', expected: identifier after ','`);
      }
    }
  }

  private requirement(): Requirement {
    let negated = false;
    let tok = this.next();
    if (tok.t === '!') {
      negated = true;
      tok = this.next();
    }
    if (tok.t !== 'id') throw syntax(`found '${tok.v}', expected: identifier`);
    const key = tok.v;
    validateKey(key);
    const following = this.peek().t;
    if (negated) return { key, op: '!', values: [] };
    if (following === 'eos' || following === ',') return { key, op: 'exists', values: [] };
    const op = this.operator();
    const values = op === 'in' || op === 'notin' ? this.valueSet() : [this.exactValue()];
    if ((op === 'in' || op === 'notin') && values.length === 0) {
      throw invalidValue(`for 'in', 'notin' operators, values set can't be empty`);
    }
    if (op === 'gt' || op === 'lt') {
      if (!/^[+-]?\d+$/.test(values[0] ?? '')) {
        throw invalidValue(`for 'Gt', 'Lt' operators, the value must be an integer`);
      }
    } else {
      values.forEach(validateValue);
    }
    return { key, op, values };
  }

  private operator(): Operator {
    const tok = this.next();
    if (tok.t === 'id' && (tok.v === 'in' || tok.v === 'notin')) return tok.v;
    if (tok.t === '=' || tok.t === '==' || tok.t === '!=') return tok.t;
    if (tok.t === '>') return 'gt';
    if (tok.t === '<') return 'lt';
    throw syntax(`found '${tok.v}', expected: '=', '!=', '==', 'in', notin'`);
  }

  private exactValue(): string {
    const ahead = this.peek();
    if (ahead.t === 'eos' || ahead.t === ',') return '';
    const tok = this.next();
    if (tok.t === 'id') return tok.v;
    throw syntax(`found '${tok.v}', expected: identifier`);
  }

  private valueSet(): string[] {
    const open = this.next();
    if (open.t !== '(') throw syntax(`found '${open.v}' expected: '('`);
    const values = new Set<string>();
    if (this.peek().t === ')') {
      this.next();
      return [];
    }
    for (;;) {
      const tok = this.next();
      if (tok.t === 'id') {
        values.add(tok.v);
      } else if (tok.t === ',') {
        // "(a,,b)", "(,a)" and "(a,)" each carry an empty value.
        values.add('');
        if (this.peek().t === ')') break;
        continue;
      } else {
        throw syntax(`found '${tok.v}', expected: ',', or identifier`);
      }
      const after = this.peek();
      if (after.t === ',') {
        this.next();
        if (this.peek().t === ')') {
          values.add('');
          break;
        }
        continue;
      }
      if (after.t === ')') break;
      throw syntax(`found '${after.v}', expected: ',' or ')'`);
    }
    const close = this.next();
    if (close.t !== ')') throw syntax(`found '${close.v}', expected: ')'`);
    return [...values];
  }
}

/** Errors inside one requirement carry this prefix in the apiserver; errors between requirements do not. */
function syntax(message: string): SelectorError {
  return new SelectorError('Syntax', `unable to parse requirement: ${message}`);
}

function invalidValue(message: string): SelectorError {
  return new SelectorError('InvalidValue', `unable to parse requirement: ${message}`);
}

const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME_RULE =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

function validateKey(key: string): void {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    throw invalidValue(`Invalid value: ${JSON.stringify(key)}: prefix part must be a lowercase RFC 1123 subdomain`);
  }
  if (name.length === 0 || name.length > 63 || !NAME.test(name)) {
    throw invalidValue(`Invalid value: ${JSON.stringify(key)}: name part ${NAME_RULE}, and be at most 63 characters`);
  }
}

function validateValue(value: string): void {
  if (value === '') return;
  if (value.length > 63 || !NAME.test(value)) {
    throw invalidValue(`Invalid value: ${JSON.stringify(value)}: a valid label ${NAME_RULE}, and be at most 63 characters`);
  }
}

function matches(req: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case 'exists':
      return has;
    case '!':
      return !has;
    case '=':
    case '==':
    case 'in':
      return has && req.values.includes(value ?? '');
    // Absent labels satisfy "not equal" and "not in", as in Kubernetes.
    case '!=':
    case 'notin':
      return !has || !req.values.includes(value ?? '');
    case 'gt':
    case 'lt': {
      if (!has || !/^[+-]?\d+$/.test(value ?? '')) return false;
      const actual = BigInt(value ?? '0');
      const bound = BigInt(req.values[0] ?? '0');
      return req.op === 'gt' ? actual > bound : actual < bound;
    }
  }
}

/**
 * `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`, comma for AND.
 * Empty selects everything. Throws SelectorError on anything the apiserver would answer 400.
 */
export function parseLabelSelector(expr: string): LabelMatcher {
  const reqs = new LabelParser(lex(expr)).parse();
  return (labels) => reqs.every((r) => matches(r, labels ?? {}));
}

// ---- field selectors ---------------------------------------------------------------------------------------

/** How a field selector reads one field label of an object; absent fields read as "". */
export type FieldReader = (object: KObject) => string;

const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

const METADATA_FIELDS: Record<string, FieldReader> = {
  'metadata.name': (o) => o.metadata.name ?? '',
  'metadata.namespace': (o) => o.metadata.namespace ?? '',
};

const nested = (obj: unknown, key: string): unknown =>
  typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>)[key] : undefined;

const EVENT_FIELDS: Record<string, FieldReader> = {
  ...Object.fromEntries(
    ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'].map((k) => [
      `involvedObject.${k}`,
      (o: KObject) => text(nested(o['involvedObject'], k)),
    ]),
  ),
  reason: (o) => text(o['reason']),
  reportingComponent: (o) => text(o['reportingComponent']),
  source: (o) => text(nested(o['source'], 'component')),
  type: (o) => text(o['type']),
};

/** The field labels the apiserver supports for a resource (group "" is core). */
export function fieldLabelsFor(group: string, resource: string): Record<string, FieldReader> {
  if (group === '' && resource === 'secrets') return { ...METADATA_FIELDS, type: (o) => text(o['type']) };
  if (group === '' && resource === 'events') return { ...METADATA_FIELDS, ...EVENT_FIELDS };
  if (group === '' && resource === 'namespaces') return { ...METADATA_FIELDS, 'status.phase': (o) => text(nested(o['status'], 'phase')) };
  return { ...METADATA_FIELDS };
}

/** Without a resource, the labels every list in the simulator accepts: metadata.name, metadata.namespace, type. */
const DEFAULT_FIELDS = fieldLabelsFor('', 'secrets');

interface FieldTerm {
  field: string;
  value: string;
  negate: boolean;
}

/**
 * `metadata.name=x`, `metadata.namespace==y`, `type!=Opaque`, comma for AND; `\,` `\=` `\\` escape inside values.
 * A field label the resource does not support throws SelectorError `field label not supported: <label>`.
 */
export function parseFieldSelector(expr: string, fields: Record<string, FieldReader> = DEFAULT_FIELDS): (object: KObject) => boolean {
  const terms: FieldTerm[] = [];
  for (const part of splitUnescaped(expr)) {
    if (part === '') continue;
    const term = splitTerm(part);
    if (!term) throw new SelectorError('Syntax', `invalid selector: '${expr}'; can't understand '${part}'`);
    terms.push({ field: term.field, value: unescapeValue(term.value), negate: term.op === '!=' });
  }
  const readers = terms.map((t) => {
    const reader = Object.hasOwn(fields, t.field) ? fields[t.field] : undefined;
    if (!reader) throw new SelectorError('UnsupportedField', `field label not supported: ${t.field}`);
    return reader;
  });
  return (object) => terms.every((t, i) => ((readers[i] as FieldReader)(object) === t.value) !== t.negate);
}

/** Splits on commas not preceded by a backslash escape. */
function splitUnescaped(expr: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < expr.length; i++) {
    if (expr[i] === '\\') i++;
    else if (expr[i] === ',') {
      parts.push(expr.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(expr.slice(start));
  return parts;
}

function splitTerm(term: string): { field: string; op: string; value: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    if (term[i] === '\\') {
      i++;
      continue;
    }
    for (const op of ['!=', '==', '=']) {
      if (term.startsWith(op, i)) return { field: term.slice(0, i), op, value: term.slice(i + op.length) };
    }
  }
  return undefined;
}

function unescapeValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] ?? '';
    if (ch === '\\') {
      const next = value[i + 1];
      if (next !== '\\' && next !== ',' && next !== '=') {
        throw new SelectorError('Syntax', `invalid field selector: invalid escape sequence: \\${next ?? ''}`);
      }
      out += next;
      i++;
    } else if (ch === ',' || ch === '=') {
      throw new SelectorError('Syntax', `invalid field selector: unescaped character in value: ${ch}`);
    } else {
      out += ch;
    }
  }
  return out;
}
