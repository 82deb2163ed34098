/** Kubeconfigs pointing at the simulator: a YAML file for kubectl, a KubeConfig object for client-node. */
import { writeFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  token: string;
  namespace?: string;
  /** PEM of the CA that signed an https server's certificate. */
  caPem?: string;
}

export function kubeconfigDocument(url: string, opts: KubeconfigOptions): object {
  const context: Record<string, string> = { cluster: 'kube-sim', user: 'kube-sim-user' };
  if (opts.namespace) context['namespace'] = opts.namespace;
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'kube-sim',
        cluster: opts.caPem ? { server: url, 'certificate-authority-data': Buffer.from(opts.caPem).toString('base64') } : { server: url },
      },
    ],
    users: [{ name: 'kube-sim-user', user: { token: opts.token } }],
    contexts: [{ name: 'kube-sim', context }],
    'current-context': 'kube-sim',
    preferences: {},
  };
}

export async function writeKubeconfigFile(path: string, url: string, opts: KubeconfigOptions): Promise<void> {
  await writeFile(path, stringify(kubeconfigDocument(url, opts)), { mode: 0o600 });
}

export function clientKubeConfig(url: string, opts: KubeconfigOptions): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'kube-sim', server: url, skipTLSVerify: true }],
    users: [{ name: 'kube-sim-user', token: opts.token }],
    contexts: [{ name: 'kube-sim', cluster: 'kube-sim', user: 'kube-sim-user', namespace: opts.namespace ?? 'default' }],
    currentContext: 'kube-sim',
  });
  return kc;
}
