/** Why the vault refused to start. The message says what to fix and never holds a key or a value. */
export type VaultStartErrorKind =
  | 'InvalidEncryptionKey'
  | 'MissingEncryptionKey'
  | 'CorruptDataFile'
  | 'WrongEncryptionKey'
  | 'DataFileIO';

export class VaultStartError extends Error {
  constructor(
    readonly kind: VaultStartErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'VaultStartError';
  }
}
