import { readDataFile, writeDataFile, type TokenMap } from './data-file.js';
import { VaultStartError } from './errors.js';
import type { FernetCipher } from './fernet.js';

/**
 * The vault's secrets: name → Fernet token in memory, optionally mirrored to
 * a data file. Changes apply to memory at once and in arrival order; flush()
 * makes them durable, coalescing changes that arrive while a write runs into
 * the next write. A write that fails takes its changes back out of memory, so
 * a change answered 500 is neither served now nor found after a restart.
 */
export class SecretStore {
  private pending: Promise<void> | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** What the data file holds: the last snapshot written successfully. */
  private saved: TokenMap;

  private constructor(
    private tokens: TokenMap,
    private readonly cipher: FernetCipher,
    private readonly dataFile: string | undefined,
  ) {
    this.saved = new Map(tokens);
  }

  /** Loads the data file when there is one. @throws VaultStartError for a corrupt or undecryptable file. */
  static async open(options: { cipher: FernetCipher; dataFile?: string | undefined }): Promise<SecretStore> {
    const { dataFile, cipher } = options;
    const loaded = dataFile === undefined ? undefined : await readDataFile(dataFile, cipher);
    const store = new SecretStore(loaded ?? new Map<string, string>(), cipher, dataFile);
    if (dataFile !== undefined && loaded === undefined) {
      // Write the empty vault now: it binds the file to this key and proves the place is writable before serving.
      try {
        await store.flush();
      } catch (err) {
        throw new VaultStartError('DataFileIO', `cannot write data file ${dataFile}: ${(err as Error).message}`);
      }
    }
    return store;
  }

  names(): string[] {
    return [...this.tokens.keys()];
  }

  has(name: string): boolean {
    return this.tokens.has(name);
  }

  plaintext(name: string): string | undefined {
    const token = this.tokens.get(name);
    return token === undefined ? undefined : this.cipher.decrypt(token);
  }

  create(name: string, value: string): 'created' | 'exists' {
    if (this.tokens.has(name)) return 'exists';
    this.tokens.set(name, this.cipher.encrypt(value));
    return 'created';
  }

  update(name: string, value: string): 'updated' | 'missing' {
    if (!this.tokens.has(name)) return 'missing';
    this.tokens.set(name, this.cipher.encrypt(value));
    return 'updated';
  }

  delete(name: string): 'deleted' | 'missing' {
    return this.tokens.delete(name) ? 'deleted' : 'missing';
  }

  /** Resolves once every change made before the call is on disk (at once without a data file). */
  flush(): Promise<void> {
    const file = this.dataFile;
    if (file === undefined) return Promise.resolve();
    // A write not yet started will snapshot the map when it starts, so it covers this change too.
    if (this.pending) return this.pending;
    const next = this.writing
      .catch(() => undefined)
      .then(async () => {
        this.pending = undefined;
        const snapshot = new Map(this.tokens);
        try {
          await writeDataFile(file, snapshot, this.cipher);
        } catch (err) {
          this.revert(snapshot);
          throw err;
        }
        this.saved = snapshot;
      });
    this.pending = next;
    this.writing = next;
    return next;
  }

  /**
   * Undoes the changes a failed write carried: every name still as `failed`
   * left it goes back to what the file holds. A name changed again since
   * keeps its newer state; the next write carries it and answers for it.
   */
  private revert(failed: TokenMap): void {
    const restored: TokenMap = new Map();
    const stillAsFailed = (name: string): boolean => this.tokens.get(name) === failed.get(name);
    // The saved order first, so a delete taken back puts the name back in its place.
    for (const [name, token] of this.saved) {
      const now = stillAsFailed(name) ? token : this.tokens.get(name);
      if (now !== undefined) restored.set(name, now);
    }
    for (const [name, token] of this.tokens) {
      if (this.saved.has(name)) continue;
      if (!stillAsFailed(name)) restored.set(name, token);
    }
    this.tokens = restored;
  }

  /** Resolves when no write is running or queued (failed writes included). */
  settled(): Promise<void> {
    return this.writing.then(
      () => undefined,
      () => undefined,
    );
  }
}
