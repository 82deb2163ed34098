import { readFileSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../observability/log.js';
import { silentLogger } from '../observability/log.js';

/**
 * Where the operator's Mixpeek API key comes from. `current()` is called for
 * every request, so a rotated key is used from the next request on.
 */
export interface ApiKeySource {
  current(): string;
  close(): void;
}

export type ApiKeyErrorKind = 'Missing' | 'Empty' | 'Unreadable' | 'Malformed';

/** Messages name the file or variable, never any of its content. */
export class ApiKeyError extends Error {
  override readonly name = 'ApiKeyError';
  readonly kind: ApiKeyErrorKind;
  constructor(kind: ApiKeyErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

// A Bearer token is sent in a header: visible ASCII only. Checking here keeps a
// stray newline or space from surfacing later as an HTTP library error.
const KEY_SHAPE = /^[\x21-\x7e]+$/;

export function checkApiKey(key: string, origin: string): string {
  const trimmed = key.trim();
  if (trimmed === '') throw new ApiKeyError('Empty', `API key from ${origin} is empty`);
  if (!KEY_SHAPE.test(trimmed)) {
    throw new ApiKeyError('Malformed', `API key from ${origin} contains whitespace or characters not allowed in an HTTP header`);
  }
  return trimmed;
}

export function apiKeyFromValue(key: string, origin = 'configuration'): ApiKeySource {
  const checked = checkApiKey(key, origin);
  return { current: () => checked, close: () => undefined };
}

/** The key from an environment variable (default MIXPEEK_API_KEY), read once. */
export function apiKeyFromEnv(name = 'MIXPEEK_API_KEY', env: NodeJS.ProcessEnv = process.env): ApiKeySource {
  const value = env[name];
  if (value === undefined) throw new ApiKeyError('Missing', `environment variable ${name} is not set`);
  return apiKeyFromValue(value, `environment variable ${name}`);
}

function readKeyFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ApiKeyError('Missing', `API key file ${path} does not exist`);
    throw new ApiKeyError('Unreadable', `API key file ${path} cannot be read (${code ?? 'unknown error'})`);
  }
  return checkApiKey(text, `file ${path}`);
}

function sameFile(a: Stats | undefined, b: Stats | undefined): boolean {
  // Still missing is no change: without this a deleted file was re-read, and warned about, on every call.
  if (a === undefined && b === undefined) return true;
  return (
    a !== undefined &&
    b !== undefined &&
    a.dev === b.dev &&
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs
  );
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The key from a file, re-read when it changes.
 *
 * The kubelet updates a mounted Secret by writing a new `..data_<ts>`
 * directory and renaming a `..data` symlink onto it; `apiKey` is itself a
 * symlink through `..data`. The file is never modified in place, so watching
 * the file would miss the swap: the directory is watched instead. fs.watch is
 * best effort (it can miss events, and on some file systems it does not fire),
 * so `current()` also stats the path — following the symlinks — and re-reads
 * when the target's identity or times moved. A failed re-read (a swap
 * half-done, an empty file) keeps the last good key and logs a warning.
 */
export interface ApiKeyFileOptions {
  /** Watch the directory (default true). Off, changes are still seen by the stat in `current()`. */
  watch?: boolean;
}

export function apiKeyFromFile(path: string, logger: Logger = silentLogger(), options: ApiKeyFileOptions = {}): ApiKeySource {
  let key = readKeyFile(path);
  let seen = statOrUndefined(path);
  let closed = false;

  const reload = (why: string): void => {
    const now = statOrUndefined(path);
    if (sameFile(now, seen)) return;
    try {
      const next = readKeyFile(path);
      seen = now;
      if (next !== key) {
        key = next;
        logger.info({ path, trigger: why }, 'API key file changed; using the new key');
      }
    } catch (error) {
      seen = now;
      logger.warn({ path, trigger: why, reason: (error as Error).message }, 'API key file could not be re-read; keeping the previous key');
    }
  };

  let watcher: FSWatcher | undefined;
  const startWatching = (): void => {
    try {
      watcher = watch(dirname(path), { persistent: false }, () => {
        if (!closed) reload('watch');
      });
    } catch (error) {
      logger.warn({ path, reason: (error as Error).message }, 'cannot watch the API key directory; changes are still seen on each request');
      return;
    }
    watcher.on('error', (error) => {
      logger.warn({ path, reason: error.message }, 'watching the API key directory failed; changes are still seen on each request');
      watcher?.close();
      watcher = undefined;
    });
  };
  if (options.watch !== false) startWatching();

  return {
    current(): string {
      if (!closed) reload('stat');
      return key;
    },
    close(): void {
      closed = true;
      watcher?.close();
      watcher = undefined;
    },
  };
}
