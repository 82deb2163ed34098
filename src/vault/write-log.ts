/**
 * One mutating request as the vault saw it, for tests that check what was
 * written in which order. `value` is the value the request stored, or tried
 * to store and could not save (status 500); it is absent on a delete and on a
 * request that changed nothing — a create answered 409, an update answered
 * 404 — so a test looking for a value finds only values that reached the store.
 */
export interface VaultWrite {
  seq: number;
  op: 'create' | 'update' | 'delete';
  name: string;
  value?: string;
  apiKey: string;
  status: number;
}

/**
 * Every write in arrival order, values and API keys included, for as long as
 * the process runs: kept only when asked (tests and their /_test/writes),
 * never by a vault left running.
 */
export class WriteLog {
  private readonly entries: VaultWrite[] = [];
  private seq = 0;

  constructor(private readonly keep: boolean) {}

  /** The record may be amended (status) until its request ends; when not kept it is returned and dropped. */
  record(write: Omit<VaultWrite, 'seq'>): VaultWrite {
    this.seq += 1;
    const entry: VaultWrite = { seq: this.seq, ...write };
    if (this.keep) this.entries.push(entry);
    return entry;
  }

  /** Copies, so a caller cannot change the log. Empty when writes are not kept. */
  list(): VaultWrite[] {
    return this.entries.map((w) => ({ ...w }));
  }
}
