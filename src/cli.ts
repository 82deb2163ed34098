#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FlagError, type CliCommand, type CommandIo } from './flags.js';
import { runCommand } from './operator/run-command.js';
import { vaultCommand } from './vault/command.js';

const PROGRAM = 'mixpeek-secret-operator';

/** The subcommands. Adding one is one entry here. */
const COMMANDS: readonly CliCommand[] = [runCommand, vaultCommand];

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    `${PROGRAM}: keeps Mixpeek organization vault secrets equal to Kubernetes Secrets.`,
    '',
    `Usage: ${PROGRAM} <command> [flags]`,
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    `Run '${PROGRAM} <command> --help' for one command.`,
    ...COMMANDS.flatMap((c) => ['', '---', '', c.helpText(PROGRAM)]),
  ].join('\n');
}

/** Signals a long-running command should stop on. */
function processShutdownSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return controller.signal;
}

function processIo(): CommandIo {
  return {
    program: PROGRAM,
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    env: process.env,
    shutdown: processShutdownSignal(),
  };
}

/**
 * Runs the CLI and resolves to the exit code: 0 done, 1 failed, 2 bad usage
 * (one line on stderr saying why).
 */
export async function main(argv: readonly string[], io: CommandIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(topHelp());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`${PROGRAM}: unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')}; see --help)`);
    return 2;
  }
  try {
    return await command.execute(rest, io);
  } catch (err) {
    if (err instanceof FlagError) {
      io.err(`${PROGRAM} ${command.name}: ${err.message}`);
      return 2;
    }
    // Name only: an unexpected error's message is not trusted to be free of secrets.
    io.err(`${PROGRAM} ${command.name}: unexpected ${err instanceof Error ? err.name : 'error'}; aborting`);
    return 1;
  }
}

function invokedAsEntry(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedAsEntry()) {
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
  // Exit even if a stray handle would keep the loop alive; unref'd, so a clean exit is not delayed.
  setTimeout(() => process.exit(code), 5000).unref();
}
