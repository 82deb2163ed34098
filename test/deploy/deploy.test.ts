/**
 * The shipped manifests, through the real kubectl: the kustomize base renders,
 * `kubectl apply -k` is accepted by the API (simulator), and the operator's
 * service account can do exactly what the operator needs and no more
 * (the integration tests run the operator itself under this account).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { startKubeSim, type KubeSim } from '../kube-sim/index.js';

const kubectlMissing = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status !== 0;
const SA = 'system:serviceaccount:mixpeek-system:mixpeek-secret-operator';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe.skipIf(kubectlMissing)(kubectlMissing ? 'deploy/ (skipped: kubectl is not on PATH)' : 'deploy/', () => {
  let sim: KubeSim;
  let home: string;
  let kubeconfig: string;

  // Asynchronous on purpose: the simulator answering kubectl runs in this process.
  const kubectl = (...args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      const child = spawn('kubectl', args, { env: { PATH: process.env.PATH ?? '', HOME: home, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    sim = await startKubeSim();
    home = await mkdtemp(join(tmpdir(), 'mxs-deploy-'));
    kubeconfig = join(home, 'kubeconfig');
    await sim.writeKubeconfig(kubeconfig);
  });
  afterAll(async () => {
    await sim?.close();
    await rm(home, { recursive: true, force: true });
  });

  it('renders with kubectl kustomize: CRD, namespace, service account, RBAC, Deployment, Service', async () => {
    const r = await kubectl('kustomize', 'deploy/base');
    expect(r.stderr).toBe('');
    const kinds = parseAllDocuments(r.stdout).map((d) => (d.toJS() as { kind: string }).kind).sort();
    expect(kinds).toEqual(
      ['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'Deployment', 'Namespace', 'Role', 'RoleBinding', 'Service', 'ServiceAccount'].sort(),
    );
  });

  it('applies with kubectl apply -k', async () => {
    const r = await kubectl('apply', '-k', 'deploy/base');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('customresourcedefinition.apiextensions.k8s.io/mixpeeksecrets.mixpeek.com created');
    expect(r.stdout).toContain('clusterrole.rbac.authorization.k8s.io/mixpeek-secret-operator created');
  });

  const canI = async (verb: string, resource: string, ...scope: string[]): Promise<string> => {
    const r = await kubectl('auth', 'can-i', verb, resource, `--as=${SA}`, ...scope);
    return r.stdout.trim();
  };

  it.each([
    ['list', 'secrets', '-A'],
    ['watch', 'secrets', '-A'],
    ['get', 'secrets', '-n', 'payments'],
    ['list', 'mixpeeksecrets.mixpeek.com', '-A'],
    ['watch', 'mixpeeksecrets.mixpeek.com', '-A'],
    ['patch', 'mixpeeksecrets.mixpeek.com', '-n', 'payments'],
    ['patch', 'mixpeeksecrets.mixpeek.com', '--subresource=status', '-n', 'payments'],
    ['create', 'events', '-n', 'payments'],
    ['get', 'leases.coordination.k8s.io', '-n', 'mixpeek-system'],
    ['update', 'leases.coordination.k8s.io', '-n', 'mixpeek-system'],
    ['create', 'leases.coordination.k8s.io', '-n', 'mixpeek-system'],
  ])('the operator may %s %s %s', async (verb, resource, ...scope) => {
    expect(await canI(verb, resource, ...scope)).toBe('yes');
  });

  it.each([
    ['create', 'secrets', '-n', 'payments'],
    ['update', 'secrets', '-n', 'payments'],
    ['patch', 'secrets', '-n', 'payments'],
    ['delete', 'secrets', '-n', 'payments'],
    ['create', 'mixpeeksecrets.mixpeek.com', '-n', 'payments'],
    ['delete', 'mixpeeksecrets.mixpeek.com', '-n', 'payments'],
    ['update', 'mixpeeksecrets.mixpeek.com', '-n', 'payments'],
    ['update', 'leases.coordination.k8s.io', '-n', 'default'],
    ['delete', 'leases.coordination.k8s.io', '-n', 'mixpeek-system'],
    ['get', 'configmaps', '-n', 'payments'],
    ['delete', 'events', '-n', 'payments'],
    ['create', 'clusterroles.rbac.authorization.k8s.io'],
  ])('the operator may not %s %s %s', async (verb, resource, ...scope) => {
    expect(await canI(verb, resource, ...scope)).toBe('no');
  });
});
