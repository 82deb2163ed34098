import { readDataFile, writeDataFile, type TokenMap } from './data-file.js';
import { VaultStartError } from './errors.js';
import type { FernetCipher } from './fernet.js';

/**
 * The vault's secrets: name → Fernet token in memory, optionally mirrored to
 * a data file. Changes apply to memory at once and in arrival order; flush()
 * makes them durable, coalescing changes that arrive while a write runs into
 * the next write.
 */
export class SecretStore {
  private pending: Promise<void> | undefined;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly tokens: TokenMap,
    private readonly cipher: FernetCipher,
    private readonly dataFile: string | undefined,
  ) {}

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
      .then(() => {
        this.pending = undefined;
        return writeDataFile(file, new Map(this.tokens), this.cipher);
      });
    this.pending = next;
    this.writing = next;
    return next;
  }

  /** Resolves when no write is running or queued (failed writes included). */
  settled(): Promise<void> {
    return this.writing.then(
      () => undefined,
      () => undefined,
    );
  }
}
