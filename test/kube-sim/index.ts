/**
 * The Kubernetes API simulator, in-process: `startKubeSim()` serves the API on 127.0.0.1 and returns
 * handles for tokens, kubeconfigs, direct store access, faults and request counters.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../../src/observability/log.js';
import { TokenAuthenticator } from './auth.js';
import { RequestCounters } from './counters.js';
import { Faults } from './faults.js';
import { clientKubeConfig, writeKubeconfigFile } from './kubeconfig.js';
import { ResourceOps, type DeleteOptions, type WriteOptions } from './ops.js';
import type { PatchType } from './patch.js';
import type { RbacState, UserInfo } from './rbac.js';
import { keyOf, Registry, resourceTypeFromCrd, type ResourceType } from './registry.js';
import { createRequestHandler } from './server.js';
import { ObjectStore } from './store.js';
import type { KObject } from './types.js';
import type { ExpiredMode } from './watch.js';
import { WatchHub } from './watch-hub.js';

export type { KObject } from './types.js';
export type { UserInfo } from './rbac.js';
export type { FailRule } from './faults.js';
export type { ExpiredMode } from './watch.js';

const CRD_KEY = 'customresourcedefinitions.apiextensions.k8s.io';

export interface KubeSimOptions {
  port?: number;
  /** Watch events kept for resuming watches; older resourceVersions get 410. Default 10,000. */
  historySize?: number;
  enableFaultRoutes?: boolean;
  logger?: Logger;
  /** How a too-old watch is answered by default: in-stream ERROR event (as observed on 1.24) or HTTP 410. */
  expiredWatchMode?: ExpiredMode;
  /** Interval of BOOKMARK events for watches that allow them. Default 10 s. */
  bookmarkIntervalMs?: number;
  /** Also serve HTTPS (test certificate in tls/) for kubectl, which sends no bearer token over http. Default true. */
  tls?: boolean;
  /** Port of the HTTPS listener (0 = any). */
  tlsPort?: number;
}

/** Direct access to objects for tests: same semantics as the API (versions, generation, finalizers), no auth. */
export interface SimStore {
  /** `ref` is `plural` for the core group, else `plural.group` (`mixpeeksecrets.mixpeek.com`). */
  get(ref: string, namespace: string | undefined, name: string): KObject | undefined;
  list(ref: string, namespace?: string): KObject[];
  create(ref: string, obj: KObject, opts?: WriteOptions): KObject;
  update(ref: string, obj: KObject, opts?: WriteOptions): KObject;
  patch(ref: string, namespace: string | undefined, name: string, patch: unknown, opts?: WriteOptions & { type?: PatchType }): KObject;
  delete(ref: string, namespace: string | undefined, name: string, opts?: DeleteOptions): KObject;
  readonly resourceVersion: string;
}

export interface SimFaults {
  closeWatches(): number;
  destroyWatchSockets(): number;
  expireNextWatch(mode?: ExpiredMode, resource?: string): void;
  compactHistory(): void;
  failNext(rule: import('./faults.js').FailRule): void;
  setLatency(ms: number): void;
  clear(): void;
  /** Open watch streams right now. */
  openWatches(): number;
}

export interface KubeSim {
  /** http://127.0.0.1:port, for client-node and raw requests. */
  url: string;
  /** https://127.0.0.1:port with the test CA (undefined when tls is off); the kubeconfig files point here. */
  tlsUrl: string | undefined;
  /** PEM of the CA for tlsUrl. */
  caPem: string | undefined;
  adminToken: string;
  addToken(token: string, user: UserInfo): void;
  serviceAccountToken(namespace: string, name: string): string;
  writeKubeconfig(path: string, opts?: { token?: string; namespace?: string }): Promise<void>;
  kubeConfig(token?: string, namespace?: string): KubeConfig;
  store: SimStore;
  faults: SimFaults;
  counters: { get(verb: string, resource: string): number; snapshot(): Record<string, number>; reset(): void };
  /** Told of every stored write as it happens (`ref` as store methods take it), e.g. for a test's leak scan. */
  onWrite(listener: (ref: string, object: KObject) => void): void;
  close(): Promise<void>;
}

function seed(ops: ResourceOps, registry: Registry): void {
  const rt = (ref: string): ResourceType => registry.resolve(ref) as ResourceType;
  for (const ns of ['default', 'kube-system', 'kube-public']) ops.create(rt('namespaces'), undefined, { metadata: { name: ns } });
  // The bootstrap policy every cluster has: any authenticated user may ask what it can do.
  ops.create(rt('clusterroles.rbac.authorization.k8s.io'), undefined, {
    metadata: { name: 'system:basic-user' },
    rules: [{ apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] }],
  });
  ops.create(rt('clusterrolebindings.rbac.authorization.k8s.io'), undefined, {
    metadata: { name: 'system:basic-user' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:basic-user' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:authenticated' }],
  });
}

export async function startKubeSim(options: KubeSimOptions = {}): Promise<KubeSim> {
  const logger = options.logger ?? silentLogger();
  const store = new ObjectStore();
  const registry = new Registry();
  const hub = new WatchHub(options.historySize ?? 10_000);
  store.onEvent((e) => {
    hub.publish(e);
    if (e.type === 'DELETED' && e.key === CRD_KEY) {
      const rt = resourceTypeFromCrd(e.object);
      if (typeof rt !== 'string') hub.closeKey(keyOf(rt));
    }
  });
  const ops = new ResourceOps(store, registry);
  const auth = new TokenAuthenticator();
  const faults = new Faults(hub, () => store.resourceVersion);
  const counters = new RequestCounters();
  seed(ops, registry);

  const rbacState = (): RbacState => ({
    roles: store.list('roles.rbac.authorization.k8s.io'),
    clusterRoles: store.list('clusterroles.rbac.authorization.k8s.io'),
    roleBindings: store.list('rolebindings.rbac.authorization.k8s.io'),
    clusterRoleBindings: store.list('clusterrolebindings.rbac.authorization.k8s.io'),
  });
  let address = '127.0.0.1:0';
  const handler = createRequestHandler({
    store,
    ops,
    hub,
    registry,
    auth,
    faults,
    counters,
    logger,
    rbacState,
    enableFaultRoutes: options.enableFaultRoutes ?? false,
    expiredMode: options.expiredWatchMode ?? 'event',
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 10_000,
    takeExpiredWatch: (resource) => faults.takeExpiredWatch(resource),
    serverAddress: () => address,
  });
  const servers: Server[] = [createServer(handler)];
  let caPem: string | undefined;
  if (options.tls !== false) {
    const dir = new URL('./tls/', import.meta.url);
    caPem = readFileSync(new URL('cert.pem', dir), 'utf8');
    servers.push(createTlsServer({ cert: caPem, key: readFileSync(new URL('key.pem', dir), 'utf8') }, handler));
  }
  const ports = [options.port ?? 0, options.tlsPort ?? 0];
  for (const [i, server] of servers.entries()) {
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(ports[i], '127.0.0.1', () => resolve());
    });
  }
  const portOf = (s: Server | undefined): number => (s?.address() as AddressInfo).port;
  address = `127.0.0.1:${portOf(servers[0])}`;
  const url = `http://${address}`;
  const tlsUrl = servers[1] ? `https://127.0.0.1:${portOf(servers[1])}` : undefined;
  logger.info({ url, tlsUrl }, 'kube-sim listening');

  const typeOf = (ref: string): ResourceType => {
    const rt = registry.resolve(ref);
    if (!rt) throw new Error(`kube-sim: unknown resource ${ref}`);
    return rt;
  };
  const simStore: SimStore = {
    get: (ref, ns, name) => {
      const rt = typeOf(ref);
      const o = store.get(keyOf(rt), rt.namespaced ? ns : undefined, name);
      return o ? structuredClone(o) : undefined;
    },
    list: (ref, ns) => store.list(keyOf(typeOf(ref)), ns).map((o) => structuredClone(o)),
    create: (ref, obj, opts) => structuredClone(ops.create(typeOf(ref), obj.metadata.namespace, obj, opts).object),
    update: (ref, obj, opts) => structuredClone(ops.update(typeOf(ref), obj.metadata.namespace, obj.metadata.name ?? '', obj, opts).object),
    patch: (ref, ns, name, patch, opts) => structuredClone(ops.patch(typeOf(ref), ns, name, opts?.type ?? 'merge', patch, opts).object),
    delete: (ref, ns, name, opts) => structuredClone(ops.delete(typeOf(ref), ns, name, opts).object),
    get resourceVersion() {
      return String(store.resourceVersion);
    },
  };

  return {
    url,
    tlsUrl,
    caPem,
    adminToken: auth.adminToken,
    addToken: (token, user) => auth.addToken(token, user),
    serviceAccountToken: (ns, name) => auth.serviceAccountToken(ns, name),
    writeKubeconfig: (path, opts) => {
      const o: { token: string; namespace?: string; caPem?: string } = { token: opts?.token ?? auth.adminToken };
      if (opts?.namespace) o.namespace = opts.namespace;
      if (caPem) o.caPem = caPem;
      return writeKubeconfigFile(path, tlsUrl ?? url, o);
    },
    kubeConfig: (token, namespace) => {
      const o: { token: string; namespace?: string } = { token: token ?? auth.adminToken };
      if (namespace) o.namespace = namespace;
      return clientKubeConfig(url, o);
    },
    store: simStore,
    faults: {
      closeWatches: () => faults.closeWatches(),
      destroyWatchSockets: () => faults.destroyWatchSockets(),
      expireNextWatch: (mode, resource) => faults.expireNextWatch(mode, resource),
      compactHistory: () => faults.compactHistory(),
      failNext: (rule) => faults.failNext(rule),
      setLatency: (ms) => faults.setLatency(ms),
      clear: () => faults.clear(),
      openWatches: () => hub.count(),
    },
    onWrite: (listener) => store.onEvent((e) => listener(e.key, e.object)),
    counters: {
      get: (verb, resource) => counters.get(verb, resource),
      snapshot: () => counters.snapshot(),
      reset: () => counters.reset(),
    },
    close: async () => {
      faults.closeWatches();
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}
