import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import type { CommandIo } from '../../src/flags.js';
import { runFlags } from '../../src/operator/run-command.js';

function io(env: Record<string, string> = {}): CommandIo & { outLines: string[]; errLines: string[] } {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return {
    program: 'mixpeek-secret-operator',
    out: (l) => outLines.push(l),
    err: (l) => errLines.push(l),
    env,
    shutdown: new AbortController().signal,
    outLines,
    errLines,
  };
}

describe('mixpeek-secret-operator run: configuration', () => {
  let dir: string;
  let kubeconfig: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mxs-run-'));
    kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
      ].join('\n'),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('--help lists every flag with its environment variable and default', async () => {
    const cli = io();
    expect(await main(['run', '--help'], cli)).toBe(0);
    const help = cli.outLines.join('\n');
    for (const spec of runFlags.specs) {
      const line = help.split('\n').find((l) => l.trimStart().startsWith(`--${spec.name}`));
      expect(line, spec.name).toBeDefined();
      if (spec.env) expect(line).toContain(`env ${spec.env}`);
      expect(line).toContain('default ');
    }
  });

  it.each([
    [['run', '--concurrency', '0'], /--concurrency/],
    [['run', '--vault-rps', 'fast'], /--vault-rps/],
    [['run', '--resync-period', 'soon'], /--resync-period/],
    [['run', '--namespace', 'Not_A_Namespace'], /--namespace/],
    [['run', '--no-such-flag'], /unknown flag --no-such-flag/],
    [['run', '--backoff-base', '10s', '--backoff-cap', '1s'], /--backoff-cap/],
  ])('%j exits 2 with one line naming the problem', async (argv, why) => {
    const cli = io({ MIXPEEK_API_KEY: 'sk_test' });
    expect(await main(argv, cli)).toBe(2);
    expect(cli.errLines).toHaveLength(1);
    expect(cli.errLines[0]).toMatch(why);
  });

  it('exits 2 when no API key is configured', async () => {
    const cli = io();
    expect(await main(['run', '--kubeconfig', kubeconfig], cli)).toBe(2);
    expect(cli.errLines[0]).toMatch(/API key is required/);
  });

  it('exits 2 for a kubeconfig that does not exist', async () => {
    const cli = io({ MIXPEEK_API_KEY: 'sk_test' });
    expect(await main(['run', '--kubeconfig', join(dir, 'missing')], cli)).toBe(2);
    expect(cli.errLines[0]).toMatch(/kubeconfig/);
  });

  it('exits 2 for plain http to a non-loopback vault, without repeating the key', async () => {
    const cli = io({ MIXPEEK_API_KEY: 'sk_do_not_echo' });
    expect(await main(['run', '--kubeconfig', kubeconfig, '--vault-url', 'http://vault.example.com'], cli)).toBe(2);
    expect(cli.errLines[0]).toMatch(/https/);
    expect(cli.errLines.join('')).not.toContain('sk_do_not_echo');
  });

  it('exits 2 for an API key file that does not exist', async () => {
    const cli = io();
    expect(await main(['run', '--kubeconfig', kubeconfig, '--api-key-file', join(dir, 'nope')], cli)).toBe(2);
    expect(cli.errLines).toHaveLength(1);
  });
});
