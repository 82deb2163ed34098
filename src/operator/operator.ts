/**
 * The operator process: one validated config in, every long-lived part
 * started in order, and stopped in the reverse order on shutdown:
 * stop intake -> drain in-flight reconciles -> release the Lease ->
 * stop watches -> close the vault pool and the probe server.
 */
import { existsSync, readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { FlagError } from '../flags.js';
import { startLeaderElection, defaultIdentity, type LeaderElector } from '../controller/leader.js';
import { shareConnections } from '../controller/kube.js';
import { Manager } from '../controller/manager.js';
import { ApiKeyError, MixpeekClient, VaultClientConfigError, apiKeyFromFile, apiKeyFromValue, type ApiKeySource } from '../mixpeek/index.js';
import type { Logger } from '../observability/log.js';
import { startHealthServer } from '../observability/health.js';
import { createMetrics } from '../observability/metrics.js';

export interface OperatorConfig {
  kubeconfig?: string;
  /** Empty: all namespaces. */
  namespaces: readonly string[];
  vaultUrl: string;
  apiKey: { file: string } | { value: string };
  allowInsecureVault: boolean;
  vaultRateLimit: { ratePerSecond: number; burst: number };
  concurrency: number;
  resyncPeriodMs: number;
  backoff: { baseMs: number; capMs: number };
  health: { host: string; port: number };
  /** Undefined: no Lease, this replica always leads. Timings default to client-go's (15 s / 10 s / 2 s). */
  leaderElection: { namespace?: string; name: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number } | undefined;
  shutdownGraceMs: number;
}

export interface OperatorIo {
  logger: Logger;
  /** Aborted on SIGTERM/SIGINT. */
  shutdown: AbortSignal;
  /** Told the probe server's URL once listening (tests use port 0). */
  announce?: (line: string) => void;
}

const IN_CLUSTER_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** --kubeconfig, else in-cluster, else ~/.kube/config (or KUBECONFIG). */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path !== undefined) kc.loadFromFile(path);
    else if (process.env.KUBERNETES_SERVICE_HOST !== undefined) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (e) {
    throw new FlagError(`cannot load the kubeconfig${path === undefined ? '' : ` ${path}`}: ${e instanceof Error ? e.message.split('\n')[0] : 'unreadable'}`);
  }
  if (!kc.getCurrentCluster()) throw new FlagError(`no current cluster in the kubeconfig${path === undefined ? '' : ` ${path}`}`);
  return kc;
}

function leaseNamespace(configured: string | undefined): string {
  if (configured !== undefined) return configured;
  if (!existsSync(IN_CLUSTER_NAMESPACE)) return 'default';
  return readFileSync(IN_CLUSTER_NAMESPACE, 'utf8').trim() || 'default';
}

function apiKeySource(config: OperatorConfig, logger: Logger): ApiKeySource {
  try {
    return 'file' in config.apiKey ? apiKeyFromFile(config.apiKey.file, logger) : apiKeyFromValue(config.apiKey.value, 'MIXPEEK_API_KEY');
  } catch (e) {
    if (e instanceof ApiKeyError) throw new FlagError(e.message);
    throw e;
  }
}

function abortedPromise(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

export async function runOperator(config: OperatorConfig, io: OperatorIo): Promise<number> {
  const log = io.logger;
  const kubeConfig = shareConnections(loadKubeConfig(config.kubeconfig));
  const apiKey = apiKeySource(config, log);
  const metrics = createMetrics();
  let vault: MixpeekClient;
  try {
    vault = new MixpeekClient({
      baseUrl: config.vaultUrl,
      apiKey,
      rateLimit: config.vaultRateLimit,
      allowInsecureHttp: config.allowInsecureVault,
      logger: log,
      observer: { attempted: (op, status, seconds) => metrics.vaultRequest(op, status, seconds), retried: (op) => metrics.vaultRetry(op) },
    });
  } catch (e) {
    apiKey.close();
    if (e instanceof VaultClientConfigError) throw new FlagError(e.message);
    throw e;
  }
  const identity = defaultIdentity();
  const manager = new Manager({
    kubeConfig,
    namespaces: config.namespaces,
    vault,
    concurrency: config.concurrency,
    resyncPeriodMs: config.resyncPeriodMs,
    backoff: config.backoff,
    logger: log,
    metrics,
    instance: identity,
  });
  const health = await startHealthServer({
    ...config.health,
    metrics,
    readiness: { caches: () => manager.hasSynced() },
    logger: log,
  });
  io.announce?.(`probes and metrics on ${health.url}`);
  log.info(
    { healthUrl: health.url, vaultUrl: new URL(config.vaultUrl).origin, namespaces: config.namespaces.length === 0 ? 'all' : config.namespaces, identity },
    'operator started',
  );

  let workers: Promise<void> = Promise.resolve();
  let elector: LeaderElector | undefined;
  const soleLeader = new AbortController();
  if (config.leaderElection) {
    elector = startLeaderElection({
      kubeConfig,
      namespace: leaseNamespace(config.leaderElection.namespace),
      name: config.leaderElection.name,
      leaseDurationMs: config.leaderElection.leaseDurationMs,
      renewDeadlineMs: config.leaderElection.renewDeadlineMs,
      retryPeriodMs: config.leaderElection.retryPeriodMs,
      identity,
      logger: log,
      onStartedLeading: (leading) => {
        metrics.setLeader(true);
        metrics.leaderTransition();
        workers = manager.runWorkers(leading);
      },
      onStoppedLeading: async () => {
        metrics.setLeader(false);
        await workers;
      },
    });
  } else {
    metrics.setLeader(true);
    workers = manager.runWorkers(soleLeader.signal);
  }

  await abortedPromise(io.shutdown);
  log.info({ graceMs: config.shutdownGraceMs }, 'shutting down: draining in-flight reconciles');
  const drained = await manager.drain(config.shutdownGraceMs);
  if (!drained) log.warn('in-flight reconciles did not finish within the grace period; aborting them');
  if (elector) await elector.stop();
  soleLeader.abort();
  await workers;
  await manager.stopCachesAndWait();
  await vault.close();
  apiKey.close();
  await health.close();
  log.info('stopped');
  log.flush();
  return 0;
}
