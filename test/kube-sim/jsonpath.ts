/**
 * The subset of kubectl / client-go JSONPath that CRD additionalPrinterColumns use, evaluated the way the
 * apiserver's table convertor does: with missing keys allowed, so a path that leads nowhere yields no results
 * instead of an error.
 *
 * Supported: `.field`, `['key']` and `['a','b']` (a quoted key is a dotted path unless its dots are escaped,
 * as in client-go), `\.` inside a field name, `[n]` (negative from the end),
 * `[start:end]`, `[*]` and `.*`, `..field`, and filters `[?(@.a.b == "x")]` with ==, !=, <, <=, >, >=
 * (string, number and boolean literals, or another `@` path) or bare `[?(@.a)]` for existence. An optional
 * surrounding `{...}` and leading `$` are accepted.
 */

export type JsonPathErrorKind = 'Syntax';

export class JsonPathError extends Error {
  readonly kind: JsonPathErrorKind = 'Syntax';
  constructor(message: string) {
    super(message);
    this.name = 'JsonPathError';
  }
}

type Literal = string | number | boolean;
type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

export type Step =
  | { k: 'field'; name: string }
  | { k: 'recursive'; name: string }
  | { k: 'wildcard' }
  | { k: 'union'; paths: Step[][] }
  | { k: 'index'; i: number }
  | { k: 'slice'; start: number | undefined; end: number | undefined }
  | { k: 'filter'; left: Step[]; op: CompareOp | 'exists'; right: Step[] | Literal | undefined };

const cache = new Map<string, Step[]>();

/** All values the path selects in `object`, in document order; [] when nothing is there. */
export function evaluateJsonPath(object: unknown, path: string): unknown[] {
  return run(parseJsonPath(path), [object]);
}

/** Parses (and caches) a path; throws JsonPathError for one the apiserver would refuse in a CRD. */
export function parseJsonPath(path: string): Step[] {
  const hit = cache.get(path);
  if (hit) return hit;
  let src = path.trim();
  if (src.startsWith('{') && src.endsWith('}')) src = src.slice(1, -1).trim();
  if (src.startsWith('$')) src = src.slice(1);
  const parser = new Parser(src);
  const steps = parser.steps(false);
  if (!parser.done()) throw new JsonPathError(`unrecognized character in JSONPath ${JSON.stringify(path)} at ${parser.pos}`);
  if (cache.size > 1000) cache.clear();
  cache.set(path, steps);
  return steps;
}

class Parser {
  pos = 0;
  constructor(private readonly src: string) {}

  done(): boolean {
    return this.pos >= this.src.length;
  }

  private peek(n = 0): string {
    return this.src[this.pos + n] ?? '';
  }

  private fail(what: string): never {
    throw new JsonPathError(`invalid JSONPath ${JSON.stringify(this.src)}: ${what} at ${this.pos}`);
  }

  /** Steps until the end, or (inside a filter) until an operator or `)`. */
  steps(inFilter: boolean): Step[] {
    const out: Step[] = [];
    while (!this.done()) {
      const ch = this.peek();
      if (inFilter && (ch === ')' || ch === ' ' || ch === '=' || ch === '!' || ch === '<' || ch === '>')) break;
      if (ch === '.') {
        if (this.peek(1) === '.') {
          this.pos += 2;
          let name: string;
          if (this.peek() === '*') {
            this.pos++;
            name = '*';
          } else {
            name = this.fieldName();
          }
          if (name === '') this.fail('expected a field after ..');
          out.push({ k: 'recursive', name });
          continue;
        }
        this.pos++;
        if (this.peek() === '*') {
          this.pos++;
          out.push({ k: 'wildcard' });
          continue;
        }
        const name = this.fieldName();
        // A lone trailing "." (as in `{.}`) selects the current value.
        if (name !== '') out.push({ k: 'field', name });
        continue;
      }
      if (ch === '[') {
        out.push(...this.bracket());
        continue;
      }
      this.fail(`unexpected ${JSON.stringify(ch)}`);
    }
    return out;
  }

  private fieldName(): string {
    let name = '';
    while (!this.done()) {
      const ch = this.peek();
      if (ch === '\\' && this.peek(1) === '.') {
        name += '.';
        this.pos += 2;
        continue;
      }
      if (ch === '.' || ch === '[' || ch === ')' || ch === ' ' || ch === '=' || ch === '!' || ch === '<' || ch === '>') break;
      name += ch;
      this.pos++;
    }
    return name;
  }

  private bracket(): Step[] {
    this.pos++; // [
    const close = (): void => {
      if (this.peek() !== ']') this.fail('expected ]');
      this.pos++;
    };
    const ch = this.peek();
    if (ch === '*') {
      this.pos++;
      close();
      return [{ k: 'wildcard' }];
    }
    if (ch === "'") {
      const keys = [this.quoted()];
      while (this.peek() === ',') {
        this.pos++;
        this.skipSpaces();
        if (this.peek() !== "'") this.fail("expected ' in a key list");
        keys.push(this.quoted());
      }
      close();
      // As in client-go, a key is a dotted path unless its dots are escaped: ['a.b'] is .a.b, ['a\.b'] one key.
      const paths = keys.map(dottedFields);
      return paths.length === 1 ? (paths[0] ?? []) : [{ k: 'union', paths }];
    }
    if (ch === '?') {
      const step = this.filter();
      close();
      return [step];
    }
    const inner = this.until(']');
    close();
    if (/^-?\d+$/.test(inner.trim())) return [{ k: 'index', i: Number(inner.trim()) }];
    const slice = /^\s*(-?\d+)?\s*:\s*(-?\d+)?\s*$/.exec(inner);
    if (slice) {
      return [{ k: 'slice', start: slice[1] === undefined ? undefined : Number(slice[1]), end: slice[2] === undefined ? undefined : Number(slice[2]) }];
    }
    return this.fail(`invalid array index ${JSON.stringify(inner)}`);
  }

  private until(end: string): string {
    const start = this.pos;
    while (!this.done() && this.peek() !== end) this.pos++;
    return this.src.slice(start, this.pos);
  }

  /** The raw text between quotes, escapes kept (callers decide what `\.` means). */
  private quoted(): string {
    const q = this.peek();
    this.pos++;
    let out = '';
    while (!this.done() && this.peek() !== q) {
      if (this.peek() === '\\' && this.peek(1) !== '') {
        out += this.peek();
        this.pos++;
      }
      out += this.peek();
      this.pos++;
    }
    if (this.peek() !== q) this.fail('unterminated string');
    this.pos++;
    return out;
  }

  private skipSpaces(): void {
    while (this.peek() === ' ') this.pos++;
  }

  private filter(): Step {
    this.pos++; // ?
    if (this.peek() !== '(') this.fail('expected ( after ?');
    this.pos++;
    this.skipSpaces();
    const left = this.operandPath();
    this.skipSpaces();
    if (this.peek() === ')') {
      this.pos++;
      return { k: 'filter', left, op: 'exists', right: undefined };
    }
    const op = (['==', '!=', '<=', '>=', '<', '>'] as const).find((o) => this.src.startsWith(o, this.pos));
    if (!op) this.fail('expected a comparison operator');
    this.pos += op.length;
    this.skipSpaces();
    const right = this.peek() === '@' ? this.operandPath() : this.literal();
    this.skipSpaces();
    if (this.peek() !== ')') this.fail('expected )');
    this.pos++;
    return { k: 'filter', left, op, right };
  }

  private operandPath(): Step[] {
    if (this.peek() !== '@') this.fail('expected @');
    this.pos++;
    return this.steps(true);
  }

  private literal(): Literal {
    const ch = this.peek();
    if (ch === "'" || ch === '"') return this.quoted().replace(/\\(.)/g, '$1');
    const m = /^(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false)/.exec(this.src.slice(this.pos));
    if (!m?.[1]) return this.fail('expected a literal');
    this.pos += m[1].length;
    if (m[1] === 'true' || m[1] === 'false') return m[1] === 'true';
    return Number(m[1]);
  }
}

function dottedFields(raw: string): Step[] {
  const names: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i] ?? '';
    if (ch === '\\' && i + 1 < raw.length) {
      current += raw[i + 1];
      i++;
    } else if (ch === '.') {
      names.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  names.push(current);
  return names.filter((n) => n !== '').map((name) => ({ k: 'field', name }));
}

// ---- evaluation --------------------------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function run(steps: Step[], input: unknown[]): unknown[] {
  let current = input;
  for (const step of steps) {
    current = current.flatMap((v) => apply(step, v));
    if (current.length === 0) return current;
  }
  return current;
}

function apply(step: Step, v: unknown): unknown[] {
  switch (step.k) {
    case 'field':
      return isRecord(v) && Object.hasOwn(v, step.name) ? [v[step.name]] : [];
    case 'wildcard':
      return Array.isArray(v) ? v : isRecord(v) ? Object.values(v) : [];
    case 'index': {
      if (!Array.isArray(v)) return [];
      const i = step.i < 0 ? v.length + step.i : step.i;
      return i >= 0 && i < v.length ? [v[i]] : [];
    }
    case 'slice': {
      if (!Array.isArray(v)) return [];
      return v.slice(step.start ?? 0, step.end ?? v.length);
    }
    case 'union':
      return step.paths.flatMap((p) => run(p, [v]));
    case 'recursive':
      return descendants(v).flatMap((d) => (step.name === '*' ? apply({ k: 'wildcard' }, d) : apply({ k: 'field', name: step.name }, d)));
    case 'filter':
      if (!Array.isArray(v)) return [];
      return v.filter((item) => filterKeeps(step, item));
  }
}

/** The value itself and everything beneath it, parents before children. */
function descendants(v: unknown): unknown[] {
  const out: unknown[] = [v];
  const children = Array.isArray(v) ? v : isRecord(v) ? Object.values(v) : [];
  for (const c of children) out.push(...descendants(c));
  return out;
}

function filterKeeps(step: Extract<Step, { k: 'filter' }>, item: unknown): boolean {
  const lefts = run(step.left, [item]);
  if (step.op === 'exists') return lefts.length > 0;
  if (lefts.length === 0) return false;
  const right = Array.isArray(step.right) ? run(step.right, [item])[0] : step.right;
  if (right === undefined) return false;
  return compare(lefts[0], step.op, right);
}

function compare(left: unknown, op: CompareOp, right: unknown): boolean {
  if (typeof left !== typeof right) return op === '!=';
  if (op === '==') return left === right;
  if (op === '!=') return left !== right;
  if (typeof left === 'number' && typeof right === 'number') return ordered(left, right, op);
  if (typeof left === 'string' && typeof right === 'string') return ordered(left, right, op);
  return false;
}

function ordered<T extends number | string>(a: T, b: T, op: '<' | '<=' | '>' | '>='): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}
