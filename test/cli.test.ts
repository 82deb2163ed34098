import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { defineFlags, FlagError, formatDuration, integerIn, parseDuration, type CommandIo } from '../src/flags.js';
import { vaultFlags } from '../src/vault/command.js';
import { generateEncryptionKey } from '../src/vault/fernet.js';

interface Captured {
  io: CommandIo;
  out: string[];
  err: string[];
  stop(): void;
}

function captureIo(env: Record<string, string | undefined> = {}): Captured {
  const out: string[] = [];
  const err: string[] = [];
  const controller = new AbortController();
  return {
    io: {
      program: 'mixpeek-secret-operator',
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      env,
      shutdown: controller.signal,
    },
    out,
    err,
    stop: () => controller.abort(),
  };
}

const exampleFlags = defineFlags([
  { name: 'name', env: 'EX_NAME', type: 'string', default: 'x', description: 'A name.' },
  { name: 'count', env: 'EX_COUNT', type: 'number', parse: integerIn(1, 10), description: 'A count.' },
  { name: 'verbose', env: 'EX_VERBOSE', type: 'boolean', description: 'Talk more.' },
  { name: 'interval', env: 'EX_INTERVAL', type: 'duration', default: 600_000, description: 'How often.' },
  { name: 'tag', env: 'EX_TAGS', type: 'string', repeatable: true, description: 'Tags.' },
  { name: 'token', env: 'EX_TOKEN', type: 'string', sensitive: true, parse: (raw: string) => {
    if (!raw.startsWith('tok_')) throw new Error(`'${raw}' does not start with tok_`);
    return raw;
  }, description: 'A credential.' },
]);

function flagError(fn: () => unknown): FlagError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FlagError);
    return err as FlagError;
  }
  throw new Error('no FlagError');
}

describe('flags', () => {
  it('parses typed values, with defaults for flags not given', () => {
    const parsed = exampleFlags.parse(['--count', '3', '--verbose', '--interval=1h30m', '--tag', 'a', '--tag', 'b'], {});
    expect(parsed).toEqual({
      help: false,
      values: { name: 'x', count: 3, verbose: true, interval: 5_400_000, tag: ['a', 'b'], token: undefined },
    });
    const defaults = exampleFlags.parse([], {});
    expect(defaults).toEqual({ help: false, values: { name: 'x', count: undefined, verbose: false, interval: 600_000, tag: [], token: undefined } });
  });

  it('falls back to the environment (repeatable values comma-separated); the command line wins', () => {
    const env = { EX_NAME: 'from-env', EX_COUNT: '7', EX_VERBOSE: 'true', EX_INTERVAL: '500ms', EX_TAGS: 'a, b,,c' };
    expect(exampleFlags.parse([], env)).toEqual({
      help: false,
      values: { name: 'from-env', count: 7, verbose: true, interval: 500, tag: ['a', 'b', 'c'], token: undefined },
    });
    const parsed = exampleFlags.parse(['--name', 'cli', '--tag', 'z'], env);
    expect(parsed.help === false && parsed.values.name).toBe('cli');
    expect(parsed.help === false && parsed.values.tag).toEqual(['z']);
  });

  it('reads durations in ms, s, m and h', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('0')).toBe(0);
    expect(() => parseDuration('10')).toThrow();
    expect(() => parseDuration('5 minutes')).toThrow();
    expect(formatDuration(600_000)).toBe('10m');
    expect(formatDuration(1500)).toBe('1500ms');
  });

  it('reports each kind of mistake as a one-line FlagError', () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--bogus'], {}, /unknown flag --bogus/],
      [['--count'], {}, /--count needs a value/],
      [['--name', '--count', '2'], {}, /--name needs a value/],
      [['--count', 'abc'], {}, /--count: 'abc' is not an integer from 1 to 10/],
      [['--count', '11'], {}, /--count: '11' is not an integer/],
      [[], { EX_COUNT: 'many' }, /EX_COUNT: 'many' is not an integer/],
      [['--interval', 'soon'], {}, /--interval: 'soon' is not a duration/],
      [['--verbose=maybe'], {}, /--verbose takes no value/],
      [[], { EX_VERBOSE: 'maybe' }, /EX_VERBOSE: 'maybe' is not a boolean/],
      [['--name', 'a', '--name', 'b'], {}, /--name given more than once/],
      [['stray'], {}, /unexpected argument at position \d+ \(see --help\)/],
    ];
    for (const [argv, env, message] of cases) {
      const err = flagError(() => exampleFlags.parse(argv, env));
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain('\n');
    }
  });

  it('never repeats a sensitive value in its error', () => {
    const err = flagError(() => exampleFlags.parse(['--token', 'hunter2-secret'], {}));
    expect(err.message).toMatch(/--token: invalid value/);
    expect(err.message).not.toContain('hunter2-secret');
    const fromEnv = flagError(() => exampleFlags.parse([], { EX_TOKEN: 'hunter2-secret' }));
    expect(fromEnv.message).not.toContain('hunter2-secret');
  });

  it('does not quote a stray word, which is often a value meant for a flag', () => {
    const err = flagError(() => exampleFlags.parse(['--token', 'a', 'sk_live_stray_secret'], {}));
    expect(err.message).toMatch(/unexpected argument at position 3/);
    expect(err.message).not.toContain('sk_live_stray_secret');
  });

  it("takes a value starting with '-' unless it is one of the flags", () => {
    const parsed = exampleFlags.parse(['--name', '-dash-first'], {});
    expect(parsed.help === false && parsed.values.name).toBe('-dash-first');
    expect(flagError(() => exampleFlags.parse(['--name', '--count'], {})).message).toMatch(/--name needs a value/);
  });

  it('asks for help with --help or -h', () => {
    expect(exampleFlags.parse(['--count', '2', '--help'], {})).toEqual({ help: true });
    expect(exampleFlags.parse(['-h'], {})).toEqual({ help: true });
  });

  it('help lists every flag with its environment variable and default', () => {
    const help = exampleFlags.helpText();
    expect(help).toMatch(/--name STRING\s+A name\. \[env EX_NAME; default x\]/);
    expect(help).toMatch(/--count NUMBER\s+A count\. \[env EX_COUNT; default none\]/);
    expect(help).toMatch(/--verbose\s+Talk more\. \[env EX_VERBOSE; default false\]/);
    expect(help).toMatch(/--interval DURATION\s+How often\. \[env EX_INTERVAL; default 10m\]/);
    expect(help).toMatch(/--tag STRING\s+Tags\. \[env EX_TAGS \(comma-separated\); default none; repeatable\]/);
  });
});

describe('mixpeek-secret-operator CLI', () => {
  const everyVaultFlag = (text: string): void => {
    // Other commands have flags of the same names: look in the vault's section only.
    const section = text.slice(text.indexOf('Usage: mixpeek-secret-operator vault')).split('\n---\n')[0] ?? '';
    for (const spec of vaultFlags.specs) {
      const line = section.split('\n').find((l) => l.trimStart().split(/\s/)[0] === `--${spec.name}`);
      expect(line, `--${spec.name} is listed`).toBeDefined();
      expect(line).toContain(`env ${spec.env ?? ''}`);
      expect(line).toMatch(/default \S/);
    }
  };

  it('--help lists the commands and every flag with its environment variable and default', async () => {
    const c = captureIo();
    expect(await main(['--help'], c.io)).toBe(0);
    const text = c.out.join('\n');
    expect(text).toMatch(/^Commands:$/m);
    expect(text).toMatch(/^ {2}vault\s+Run a local Mixpeek-compatible vault/m);
    everyVaultFlag(text);
    expect(text).toContain('[env MIXPEEK_VAULT_HOST; default 127.0.0.1]');
    expect(text).toContain('[env MIXPEEK_VAULT_PORT; default 8080]');
    expect(text).toContain('env MIXPEEK_VAULT_API_KEYS (comma-separated)');
    expect(text).toContain('[env ENCRYPTION_KEY; default generated into DATA_FILE.key (0600) and reused]');
    expect(c.err).toEqual([]);
  });

  it('vault --help lists every vault flag', async () => {
    const c = captureIo();
    expect(await main(['vault', '--help'], c.io)).toBe(0);
    const text = c.out.join('\n');
    expect(text).toContain('Usage: mixpeek-secret-operator vault [flags]');
    everyVaultFlag(text);
  });

  it('bad usage exits 2 with one line on stderr', async () => {
    const cases: [string[], RegExp][] = [
      [['vault', '--bogus'], /unknown flag --bogus/],
      [['vault', '--port', 'eighty', '--api-key', 'k:ADMIN'], /--port: 'eighty' is not an integer from 0 to 65535/],
      [['vault'], /at least one --api-key/],
      [['vault', '--api-key', 'sk_only_key_no_role'], /--api-key: invalid value/],
      [['vault', '--api-key', 'sk_k:OWNER'], /--api-key: invalid value \(expected KEY:ROLE with ROLE ADMIN or READ\)/],
      [['deploy'], /unknown command 'deploy'/],
    ];
    for (const [argv, message] of cases) {
      const c = captureIo();
      expect(await main(argv, c.io)).toBe(2);
      expect(c.err).toHaveLength(1);
      expect(c.err[0]).toMatch(message);
      expect(c.err[0]).not.toContain('\n');
      expect(c.err[0]).not.toContain('sk_only_key_no_role');
      expect(c.out).toEqual([]);
    }
  });

  it('without a command prints the help and exits 2', async () => {
    const c = captureIo();
    expect(await main([], c.io)).toBe(2);
    expect(c.out.join('\n')).toContain('Commands:');
  });

  it('vault: keys from the environment, prints its URL line, serves, and returns 0 on shutdown', async () => {
    const c = captureIo({ MIXPEEK_VAULT_API_KEYS: 'sk_env_admin:ADMIN,sk_env_read:READ', MIXPEEK_VAULT_LOG_LEVEL: 'silent' });
    const running = main(['vault', '--port', '0'], c.io);
    await expect.poll(() => c.out.length, { timeout: 20_000 }).toBe(1);
    const url = /^mixpeek vault listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(c.out[0] ?? '')?.[1];
    expect(url).toBeDefined();
    const created = await fetch(`${url}/v1/organizations/secrets`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk_env_admin', 'content-type': 'application/json' },
      body: JSON.stringify({ secret_name: 'cli', secret_value: 'v' }),
    });
    expect(created.status).toBe(200);
    await created.arrayBuffer();
    const denied = await fetch(`${url}/v1/organizations/secrets/cli`, { method: 'DELETE', headers: { authorization: 'Bearer sk_env_read' } });
    expect(denied.status).toBe(403);
    await denied.arrayBuffer();
    c.stop();
    expect(await running).toBe(0);
    expect(c.err).toEqual([]);
  });

  it('vault: a corrupt data file stops start-up with exit 1 and a one-line reason', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mixpeek-cli-'));
    try {
      const dataFile = join(dir, 'vault.json');
      await writeFile(dataFile, 'not json at all');
      const c = captureIo({ ENCRYPTION_KEY: generateEncryptionKey() });
      const code = await main(['vault', '--port', '0', '--api-key', 'k:ADMIN', '--data-file', dataFile, '--log-level', 'silent'], c.io);
      expect(code).toBe(1);
      expect(c.out).toEqual([]);
      expect(c.err).toHaveLength(1);
      expect(c.err[0]).toContain(dataFile);
      expect(c.err[0]).toMatch(/corrupt/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('as a process: prints one URL line, serves a request, and exits 0 on SIGTERM', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    // `node --import tsx` is what `npx tsx` runs in the end, without the wrappers: npm exec does not
    // pass SIGTERM on, and the tsx launcher re-raises it on itself, so neither reports the exit code 0.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'vault', '--port', '0', '--api-key', 'sk_a:ADMIN'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    try {
      await expect.poll(() => /listening on (\S+)\n/.exec(stdout)?.[1], { timeout: 30_000, interval: 100 }).toBeDefined();
      const url = /^mixpeek vault listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout)?.[1] ?? '';
      const res = await fetch(`${url}/v1/organizations/secrets`, { headers: { authorization: 'Bearer sk_a' } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ secrets: [], count: 0 });
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
      const plainLines = stdout.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
      expect(plainLines).toEqual([`mixpeek vault listening on ${url}`]);
      const audit = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(audit).toEqual([expect.objectContaining({ route: 'GET /v1/organizations/secrets', outcome: 'listed', status: 200 })]);
      expect(stdout).not.toContain('sk_a');
      expect(stderr).toBe('');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
