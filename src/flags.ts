import { parseArgs } from 'node:util';

/**
 * A declarative flag layer over node:util parseArgs: every command lists its
 * flags once, and parsing, environment fallback, typed values and --help text
 * all come from that list.
 */

export type FlagType = 'string' | 'boolean' | 'number' | 'duration';

export interface FlagSpec {
  /** kebab-case, without dashes: `api-key` is `--api-key` on the command line and `apiKey` in the values. */
  readonly name: string;
  readonly env?: string;
  readonly type: FlagType;
  /** May be given several times; the environment variable then holds a comma-separated list. */
  readonly repeatable?: boolean;
  readonly default?: unknown;
  /** Shown in --help instead of the default value, e.g. "generated into DATA_FILE.key". */
  readonly defaultText?: string;
  readonly required?: boolean;
  readonly description: string;
  /** Placeholder for the value in --help, e.g. `PATH`; the type's name when absent. */
  readonly metavar?: string;
  /** Its value is a credential: never echoed in an error message. */
  readonly sensitive?: boolean;
  /**
   * Turns one raw string into the flag's value, replacing the built-in
   * conversion for its type. Throw an Error whose message explains what is
   * expected (without repeating a sensitive input).
   */
  readonly parse?: (raw: string) => unknown;
}

type Camel<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;

type Scalar<S extends FlagSpec> = S extends { parse: (raw: string) => infer R }
  ? R
  : S['type'] extends 'boolean'
    ? boolean
    : S['type'] extends 'number' | 'duration'
      ? number
      : string;

type FlagValue<S extends FlagSpec> = S extends { repeatable: true }
  ? Scalar<S>[]
  : S extends { default: unknown }
    ? Scalar<S>
    : S extends { required: true }
      ? Scalar<S>
      : S['type'] extends 'boolean'
        ? boolean
        : Scalar<S> | undefined;

/** The typed values a list of flag specs parses into, keyed by camelCase name. */
export type FlagValues<L extends readonly FlagSpec[]> = {
  [S in L[number] as Camel<S['name']>]: FlagValue<S>;
};

export type FlagParseResult<L extends readonly FlagSpec[]> =
  | { readonly help: true }
  | { readonly help: false; readonly values: FlagValues<L> };

/** A bad flag or environment value. Its message is one line, fit to print as the reason for exit code 2. */
export class FlagError extends Error {
  readonly kind = 'FlagError' as const;
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'FlagError';
  }
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `10s`, `5m`, `1h`, `1h30m`, or `0` → milliseconds. */
export function parseDuration(raw: string): number {
  const text = raw.trim();
  if (text === '0') return 0;
  const invalid = new Error(`'${raw}' is not a duration (use e.g. 500ms, 10s, 5m, 1h)`);
  if (text === '') throw invalid;
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  while (part.lastIndex < text.length) {
    const m = part.exec(text);
    if (!m) throw invalid;
    total += Number(m[1]) * (DURATION_UNITS_MS[m[2] ?? ''] ?? 0);
  }
  return Math.round(total);
}

/** The shortest exact spelling of a duration for help text: 600000 → `10m`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A parser for integers in [min, max], for flags such as ports and limits. */
export function integerIn(min: number, max: number): (raw: string) => number {
  return (raw) => {
    const n = Number(raw.trim());
    if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new Error(`'${raw}' is not an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** A parser that accepts one of a fixed list of words. */
export function oneOf<const W extends readonly string[]>(...words: W): (raw: string) => W[number] {
  return (raw) => {
    const found = words.find((w) => w === raw.trim());
    if (found === undefined) throw new Error(`'${raw}' is not one of ${words.join(', ')}`);
    return found;
  };
}

function parseBoolean(raw: string): boolean {
  switch (raw.trim().toLowerCase()) {
    case '1':
    case 'true':
    case 'yes':
    case 'on':
      return true;
    case '0':
    case 'false':
    case 'no':
    case 'off':
    case '':
      return false;
    default:
      throw new Error(`'${raw}' is not a boolean (use true or false)`);
  }
}

function convert(spec: FlagSpec, raw: string): unknown {
  if (spec.parse) return spec.parse(raw);
  switch (spec.type) {
    case 'string':
      return raw;
    case 'boolean':
      return parseBoolean(raw);
    case 'number': {
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(n)) throw new Error(`'${raw}' is not a number`);
      return n;
    }
    case 'duration':
      return parseDuration(raw);
  }
}

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export class FlagSet<const L extends readonly FlagSpec[]> {
  private readonly byName: ReadonlyMap<string, FlagSpec>;

  constructor(readonly specs: L) {
    this.byName = new Map(specs.map((s) => [s.name, s]));
  }

  /**
   * Reads argv (the arguments after the command name) and falls back to env
   * for flags not given. A flag on the command line replaces its environment
   * value entirely, repeatable ones included.
   */
  parse(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): FlagParseResult<L> {
    const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
      help: { type: 'boolean', short: 'h' },
    };
    for (const s of this.specs) {
      options[s.name] = { type: s.type === 'boolean' ? 'boolean' : 'string', multiple: s.repeatable === true };
    }
    // strict: false so every message below is ours (one line, no sensitive input echoed).
    const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });

    const given = new Map<string, string[]>();
    for (const t of tokens) {
      // Not quoted: a stray word is often a value meant for a flag, such as a key.
      if (t.kind === 'positional') throw new FlagError(`unexpected argument at position ${t.index + 1} (see --help)`);
      if (t.kind === 'option-terminator') continue;
      if (t.name === 'help') return { help: true };
      const spec = this.byName.get(t.name);
      if (!spec) throw new FlagError(`unknown flag ${t.rawName} (see --help)`);
      let raw: string;
      if (spec.type === 'boolean') {
        if (t.value !== undefined) throw new FlagError(`${t.rawName} takes no value`);
        raw = 'true';
      } else {
        // parseArgs happily takes the next flag as the value: `--data-file --port 1`. A value that
        // merely starts with '-' (url-safe base64 keys can) is taken when it is not one of our flags.
        if (t.value === undefined || (!t.inlineValue && this.looksLikeFlag(t.value))) {
          throw new FlagError(`${t.rawName} needs a value (use ${t.rawName}=VALUE for a value starting with '-')`);
        }
        raw = t.value;
      }
      if (!spec.repeatable && given.has(spec.name)) throw new FlagError(`${t.rawName} given more than once`);
      given.set(spec.name, [...(given.get(spec.name) ?? []), raw]);
    }

    const values: Record<string, unknown> = {};
    for (const spec of this.specs) {
      const fromArgs = given.get(spec.name);
      const envRaw = spec.env !== undefined ? env[spec.env] : undefined;
      let raws: string[] | undefined;
      let source: string;
      if (fromArgs) {
        raws = fromArgs;
        source = `--${spec.name}`;
      } else if (envRaw !== undefined && envRaw.trim() !== '') {
        raws = spec.repeatable
          ? envRaw.split(',').map((v) => v.trim()).filter((v) => v !== '')
          : [envRaw];
        source = spec.env ?? '';
      } else {
        raws = undefined;
        source = '';
      }

      let value: unknown;
      if (raws === undefined) {
        if (spec.required) throw new FlagError(`--${spec.name} is required${spec.env ? ` (or ${spec.env})` : ''}`);
        value = spec.repeatable ? [...((spec.default as unknown[] | undefined) ?? [])] : (spec.default ?? (spec.type === 'boolean' ? false : undefined));
      } else {
        const converted = raws.map((raw) => {
          try {
            return convert(spec, raw);
          } catch (err) {
            const why = err instanceof Error ? err.message : 'invalid value';
            throw new FlagError(spec.sensitive ? `${source}: invalid value (${redactQuoted(why)})` : `${source}: ${why}`);
          }
        });
        value = spec.repeatable ? converted : converted[0];
      }
      values[camel(spec.name)] = value;
    }
    return { help: false, values: values as FlagValues<L> };
  }

  private looksLikeFlag(word: string): boolean {
    if (word === '-h' || word === '--help' || word === '--') return true;
    if (!word.startsWith('--')) return false;
    const name = word.slice(2).split('=')[0] ?? '';
    return this.byName.has(name);
  }

  /** One line per flag: name, type, description, environment variable and default. */
  helpText(): string {
    const rows = this.specs.map((s) => {
      const left = `--${s.name}${s.type === 'boolean' ? '' : ` ${s.metavar ?? s.type.toUpperCase()}`}`;
      const notes = [
        s.env ? `env ${s.env}${s.repeatable ? ' (comma-separated)' : ''}` : 'no env',
        `default ${this.defaultText(s)}`,
      ];
      if (s.repeatable) notes.push('repeatable');
      if (s.required) notes.push('required');
      return { left, right: `${s.description} [${notes.join('; ')}]` };
    });
    rows.push({ left: '-h, --help', right: 'Show this help.' });
    const width = Math.max(...rows.map((r) => r.left.length)) + 2;
    return rows.map((r) => `  ${r.left.padEnd(width)}${r.right}`).join('\n');
  }

  private defaultText(s: FlagSpec): string {
    if (s.defaultText !== undefined) return s.defaultText;
    if (s.sensitive) return 'none';
    const d = s.default;
    if (d === undefined) return s.type === 'boolean' ? 'false' : 'none';
    if (Array.isArray(d)) return d.length === 0 ? 'none' : d.map(String).join(',');
    if (s.type === 'duration' && typeof d === 'number') return formatDuration(d);
    return typeof d === 'string' || typeof d === 'number' || typeof d === 'boolean' ? String(d) : 'set';
  }
}

/** Quoted input in a parser's message would repeat a sensitive value: drop it. */
function redactQuoted(message: string): string {
  return message.replace(/'[^']*'/g, 'the value');
}

export function defineFlags<const L extends readonly FlagSpec[]>(specs: L): FlagSet<L> {
  return new FlagSet(specs);
}

/** What a command may touch of the outside world; cli.ts wires it to the process, tests to their own. */
export interface CommandIo {
  /** The program's name, for usage lines. */
  program: string;
  /** One line to stdout. */
  out(line: string): void;
  /** One line to stderr. */
  err(line: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted on SIGTERM/SIGINT: a long-running command finishes its work and returns. */
  shutdown: AbortSignal;
}

/** A subcommand with its flags, as the CLI's command table holds it. */
export interface CliCommand {
  readonly name: string;
  readonly summary: string;
  /** Usage line, description and every flag. */
  helpText(program: string): string;
  /** Parses argv (after the command name) and runs. @throws FlagError for bad flags: exit code 2. */
  execute(argv: readonly string[], io: CommandIo): Promise<number>;
}

export function defineCommand<const L extends readonly FlagSpec[]>(command: {
  name: string;
  summary: string;
  description?: string;
  flags: FlagSet<L>;
  run(values: FlagValues<L>, io: CommandIo): Promise<number>;
}): CliCommand {
  const helpText = (program: string): string =>
    [
      `Usage: ${program} ${command.name} [flags]`,
      '',
      command.description ?? command.summary,
      '',
      'Flags (a flag given on the command line wins over its environment variable):',
      command.flags.helpText(),
    ].join('\n');
  return {
    name: command.name,
    summary: command.summary,
    helpText,
    async execute(argv, io) {
      const parsed = command.flags.parse(argv, io.env);
      if (parsed.help) {
        io.out(helpText(io.program));
        return 0;
      }
      return command.run(parsed.values, io);
    },
  };
}
