export {
  MixpeekClient,
  USER_AGENT,
  type CallOptions,
  type MixpeekClientOptions,
  type VaultCallObserver,
  type VaultSecretList,
  type VaultSecretResult,
} from './client.js';
export {
  VaultClientConfigError,
  VaultError,
  type VaultClientConfigErrorKind,
  type VaultErrorInit,
  type VaultErrorKind,
  type VaultOperation,
} from './errors.js';
export {
  ApiKeyError,
  apiKeyFromEnv,
  apiKeyFromFile,
  apiKeyFromValue,
  checkApiKey,
  type ApiKeyErrorKind,
  type ApiKeyFileOptions,
  type ApiKeySource,
} from './api-key.js';
export { TokenBucket, type TokenBucketOptions } from './rate-limit.js';
export { MAX_RETRY_AFTER_MS, backoffDelay, parseRetryAfter, sleep } from './retry.js';
export { systemClock, type Clock } from './clock.js';
