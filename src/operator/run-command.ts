/**
 * `mixpeek-secret-operator run`: flags and environment -> one validated
 * OperatorConfig -> the operator. Bad configuration exits 2 with one line.
 */
import { defineCommand, defineFlags, FlagError, integerIn, oneOf, type CommandIo } from '../flags.js';
import { createLogger } from '../observability/log.js';
import { runOperator, type OperatorConfig } from './operator.js';

const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function namespaceName(raw: string): string {
  const ns = raw.trim();
  if (ns.length > 63 || !NAMESPACE_NAME.test(ns)) throw new Error(`'${raw}' is not a namespace name`);
  return ns;
}

function positiveNumber(raw: string): number {
  const n = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) throw new Error(`'${raw}' is not a positive number`);
  return n;
}

export const runFlags = defineFlags([
  { name: 'kubeconfig', env: 'KUBECONFIG', type: 'string', metavar: 'PATH', defaultText: 'in-cluster, else ~/.kube/config', description: 'Kubeconfig file to use.' },
  {
    name: 'namespace',
    env: 'WATCH_NAMESPACE',
    type: 'string',
    repeatable: true,
    metavar: 'NAME',
    parse: namespaceName,
    defaultText: 'all namespaces',
    description: 'Watch MixpeekSecrets and Secrets only in this namespace; repeat for several.',
  },
  { name: 'vault-url', env: 'MIXPEEK_VAULT_URL', type: 'string', metavar: 'URL', default: 'https://api.mixpeek.com', description: 'Mixpeek API base URL, operator-wide (tenants cannot change it).' },
  {
    name: 'api-key-file',
    env: 'MIXPEEK_API_KEY_FILE',
    type: 'string',
    metavar: 'PATH',
    defaultText: 'none (then MIXPEEK_API_KEY)',
    description: 'File holding the operator API key; re-read when it changes, so a rotated mounted Secret needs no restart. Else the key is read from MIXPEEK_API_KEY.',
  },
  { name: 'allow-insecure-vault', env: 'MIXPEEK_ALLOW_INSECURE_HTTP', type: 'boolean', description: 'Allow plain http:// to a non-loopback vault (logged as a warning). Never in production.' },
  { name: 'vault-rps', env: 'MIXPEEK_VAULT_RPS', type: 'number', default: 1, parse: positiveNumber, description: 'Client-side rate limit, vault requests per second (pro tier: 60/min).' },
  { name: 'vault-burst', env: 'MIXPEEK_VAULT_BURST', type: 'number', default: 5, parse: integerIn(1, 10_000), description: 'Client-side rate limit burst.' },
  { name: 'concurrency', env: 'MIXPEEK_CONCURRENCY', type: 'number', default: 4, parse: integerIn(1, 256), description: 'MixpeekSecrets reconciled at once.' },
  { name: 'resync-period', env: 'MIXPEEK_RESYNC_PERIOD', type: 'duration', default: 600_000, description: 'Re-check every MixpeekSecret this often (nothing is pushed when already synced); 0 disables.' },
  { name: 'backoff-base', env: 'MIXPEEK_BACKOFF_BASE', type: 'duration', default: 1_000, description: 'First retry delay of a failing MixpeekSecret; doubles per failure.' },
  { name: 'backoff-cap', env: 'MIXPEEK_BACKOFF_CAP', type: 'duration', default: 300_000, description: 'Longest retry delay of a failing MixpeekSecret.' },
  { name: 'health-addr', env: 'MIXPEEK_HEALTH_ADDR', type: 'string', metavar: 'HOST:PORT', default: '0.0.0.0:8080', description: 'Where /metrics, /healthz and /readyz are served; port 0 picks a free one.' },
  { name: 'disable-leader-election', env: 'MIXPEEK_DISABLE_LEADER_ELECTION', type: 'boolean', description: 'Run without a Lease (only when exactly one replica runs).' },
  {
    name: 'leader-election-namespace',
    env: 'POD_NAMESPACE',
    type: 'string',
    metavar: 'NAME',
    parse: namespaceName,
    defaultText: "the pod's namespace, else default",
    description: 'Namespace of the leader-election Lease.',
  },
  { name: 'leader-election-id', env: 'MIXPEEK_LEADER_ELECTION_ID', type: 'string', metavar: 'NAME', default: 'mixpeek-secret-operator', description: 'Name of the leader-election Lease.' },
  { name: 'shutdown-grace', env: 'MIXPEEK_SHUTDOWN_GRACE', type: 'duration', default: 25_000, description: 'On SIGTERM, how long in-flight reconciles may finish before they are aborted.' },
  {
    name: 'log-level',
    env: 'LOG_LEVEL',
    type: 'string',
    metavar: 'LEVEL',
    default: 'info',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
    description: 'fatal, error, warn, info, debug, trace or silent.',
  },
]);

function hostPort(raw: string): { host: string; port: number } {
  const at = raw.lastIndexOf(':');
  const host = at <= 0 ? '0.0.0.0' : raw.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(raw.slice(at + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new FlagError(`--health-addr: '${raw}' is not HOST:PORT`);
  return { host, port };
}

function checkBackoff(base: number, cap: number): void {
  if (base <= 0) throw new FlagError('--backoff-base must be more than 0');
  if (cap < base) throw new FlagError('--backoff-cap must be at least --backoff-base');
}

export const runCommand = defineCommand({
  name: 'run',
  summary: 'Run the operator: push rotated Kubernetes Secrets to the Mixpeek vault.',
  description:
    'Watch MixpeekSecrets and the Secrets they reference; when a referenced Secret changes, push the new value with the\n' +
    "vault's Update Secret call and record the outcome in the MixpeekSecret's status. Logs are JSON lines on stdout.",
  flags: runFlags,
  async run(flags, io: CommandIo): Promise<number> {
    checkBackoff(flags.backoffBase, flags.backoffCap);
    const apiKey =
      flags.apiKeyFile !== undefined
        ? ({ file: flags.apiKeyFile } as const)
        : io.env.MIXPEEK_API_KEY !== undefined && io.env.MIXPEEK_API_KEY.trim() !== ''
          ? ({ value: io.env.MIXPEEK_API_KEY } as const)
          : undefined;
    if (apiKey === undefined) throw new FlagError('an API key is required: --api-key-file PATH, MIXPEEK_API_KEY_FILE or MIXPEEK_API_KEY');
    const config: OperatorConfig = {
      namespaces: flags.namespace,
      vaultUrl: flags.vaultUrl,
      apiKey,
      allowInsecureVault: flags.allowInsecureVault,
      vaultRateLimit: { ratePerSecond: flags.vaultRps, burst: flags.vaultBurst },
      concurrency: flags.concurrency,
      resyncPeriodMs: flags.resyncPeriod,
      backoff: { baseMs: flags.backoffBase, capMs: flags.backoffCap },
      health: hostPort(flags.healthAddr),
      leaderElection: flags.disableLeaderElection
        ? undefined
        : { name: flags.leaderElectionId, ...(flags.leaderElectionNamespace !== undefined && { namespace: flags.leaderElectionNamespace }) },
      shutdownGraceMs: flags.shutdownGrace,
      ...(flags.kubeconfig !== undefined && { kubeconfig: flags.kubeconfig }),
    };
    const logger = createLogger({ level: flags.logLevel, base: { component: 'operator' } });
    return runOperator(config, { logger, shutdown: io.shutdown });
  },
});
