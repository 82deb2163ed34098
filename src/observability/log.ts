import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/**
 * Field paths whose values pino replaces with "[REDACTED]". The operator never
 * logs values on purpose; this is the net under that rule for objects that are
 * logged whole (request options, errors with headers attached).
 */
export const REDACTED_PATHS: readonly string[] = [
  'authorization',
  'Authorization',
  'apiKey',
  'api_key',
  'secret_value',
  'secretValue',
  'value',
  'headers.authorization',
  'headers.Authorization',
  '*.authorization',
  '*.Authorization',
  '*.apiKey',
  '*.api_key',
  '*.secret_value',
  '*.secretValue',
  '*.headers.authorization',
  '*.headers.Authorization',
  'body.secret_value',
  '*.body.secret_value',
];

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where lines go; stdout when absent. Tests pass a capturing stream. */
  destination?: DestinationStream;
  /** Bound on every line, e.g. `{component: 'vault'}`. */
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? {},
      redact: { paths: [...REDACTED_PATHS], censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** A logger that drops everything: for library defaults and tests that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Captures every line a logger writes, for tests that scan logs for secret values. */
export class CapturedLog implements DestinationStream {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
  get text(): string {
    return this.lines.join('');
  }
  records(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
