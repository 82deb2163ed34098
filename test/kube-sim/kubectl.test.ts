/**
 * Conformance through the real kubectl: each test gets its own HOME (kubectl caches discovery there)
 * and its own kubeconfig. Skipped, with the reason, where kubectl is not on PATH.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startKubeSim, type KubeSim } from './index.js';
import { eventually, GROUP, VERSION, widget, widgetCrd, WIDGETS } from './test-fixtures.js';
import type { KObject } from './types.js';

const kubectlMissing = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status !== 0;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let sim: KubeSim;
let home: string;
let kubeconfig: string;

/** Starts kubectl; the promise settles when it exits. */
function kubectlAsync(args: string[], opts: { kubeconfig?: string } = {}): { done: Promise<Run> } {
  const child = spawn('kubectl', args, {
    env: { PATH: process.env['PATH'] ?? '', HOME: home, KUBECONFIG: opts.kubeconfig ?? kubeconfig },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { done };
}

async function kubectl(...args: string[]): Promise<Run> {
  return kubectlAsync(args).done;
}

async function manifest(name: string, objects: KObject | KObject[]): Promise<string> {
  const path = join(home, name);
  const docs = Array.isArray(objects) ? objects : [objects];
  await writeFile(path, docs.map((d) => stringify(d)).join('---\n'));
  return path;
}

async function applyCrd(): Promise<void> {
  const r = await kubectl('apply', '-f', await manifest('crd.yaml', widgetCrd()));
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

describe.skipIf(kubectlMissing)(kubectlMissing ? 'kubectl (skipped: kubectl is not on PATH)' : 'kubectl', () => {
  beforeAll(async () => {
    sim = await startKubeSim();
  });

  afterAll(async () => {
    await sim.close();
  });

  beforeEach(async (ctx) => {
    home = await mkdtemp(join(tmpdir(), 'kube-sim-kubectl-'));
    kubeconfig = join(home, 'kubeconfig');
    await sim.writeKubeconfig(kubeconfig, { namespace: 'default' });
    ctx.onTestFinished(() => rm(home, { recursive: true, force: true }));
  });

  it('applies a CRD: created, then unchanged', async () => {
    const path = await manifest('crd.yaml', widgetCrd());
    const first = await kubectl('apply', '-f', path);
    expect(first.stderr).toBe('');
    expect(first.stdout.trim()).toMatch(new RegExp(`customresourcedefinition.apiextensions.k8s.io/${WIDGETS} (created|unchanged)`));
    const again = await kubectl('apply', '-f', path);
    expect(again.stdout.trim()).toBe(`customresourcedefinition.apiextensions.k8s.io/${WIDGETS} unchanged`);
  });

  it('applies a custom resource: created, unchanged, configured', async () => {
    await applyCrd();
    const path = await manifest('w.yaml', widget('applied', 'default', { size: 2 }));
    const created = await kubectl('apply', '-f', path);
    expect(created.stderr).toBe('');
    expect(created.stdout.trim()).toBe('widget.sim.example.com/applied created');
    expect((await kubectl('apply', '-f', path)).stdout.trim()).toBe('widget.sim.example.com/applied unchanged');
    const changed = await manifest('w2.yaml', widget('applied', 'default', { size: 3, color: 'red' }));
    expect((await kubectl('apply', '-f', changed)).stdout.trim()).toBe('widget.sim.example.com/applied configured');
    const stored = sim.store.get(WIDGETS, 'default', 'applied');
    expect(stored?.['spec']).toEqual({ size: 3, color: 'red' });
    expect(stored?.metadata.generation).toBe(2);
    expect(stored?.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toContain('"size":3');
  });

  it('refuses an invalid custom resource with the server-side reasons', async () => {
    await applyCrd();
    const r = await kubectl('apply', '-f', await manifest('bad.yaml', widget('bad', 'default', { size: 0 })));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.size');
    expect(r.stderr).toContain('is invalid');
  });

  it('refuses unknown fields under the default strict validation', async () => {
    await applyCrd();
    const r = await kubectl('apply', '-f', await manifest('unknown.yaml', widget('unknown', 'default', { size: 1, nope: true })));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown field "spec.nope"');
  });

  it('explains a custom resource from the CRD schema served in OpenAPI v3', async () => {
    const crd = widgetCrd();
    const versions = (crd['spec'] as { versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: { size: Record<string, unknown> } } } } } }[] }).versions;
    const size = versions[0]?.schema.openAPIV3Schema.properties.spec.properties.size;
    if (size) size['description'] = 'How big the widget is.';
    expect((await kubectl('apply', '-f', await manifest('crd-doc.yaml', crd))).code).toBe(0);
    const r = await kubectl('explain', 'widgets.spec.size');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('FIELD: size <integer>');
    expect(r.stdout).toContain('How big the widget is.');
  });

  it('applies server-side, creating when absent', async () => {
    await applyCrd();
    const path = await manifest('ssa.yaml', widget('ssa', 'default', { size: 4 }));
    const r = await kubectl('apply', '--server-side', '-f', path);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('widget.sim.example.com/ssa serverside-applied');
    const again = await kubectl('apply', '--server-side', '-f', await manifest('ssa2.yaml', widget('ssa', 'default', { size: 5 })));
    expect(again.code).toBe(0);
    expect(sim.store.get(WIDGETS, 'default', 'ssa')?.['spec']).toEqual({ size: 5, color: 'blue' });
  });

  it('gets with the printer columns and as YAML', async () => {
    await applyCrd();
    sim.store.create(WIDGETS, widget('shown', 'default', { size: 7, color: 'red' }));
    sim.store.patch(WIDGETS, 'default', 'shown', { status: { conditions: [{ type: 'Ready', status: 'True' }] } }, { subresource: 'status' });
    const r = await kubectl('get', 'widgets', '--field-selector', 'metadata.name=shown');
    expect(r.stderr).toBe('');
    const [header, row] = r.stdout.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'SIZE', 'COLOR', 'READY']);
    expect(row?.split(/\s+/).slice(0, 4)).toEqual(['shown', '7', 'red', 'True']);
    const short = await kubectl('get', 'wd', 'shown', '-o', 'yaml');
    expect(short.stdout).toContain(`apiVersion: ${GROUP}/${VERSION}`);
    expect(short.stdout).toContain('size: 7');
    expect(short.stdout).toMatch(/resourceVersion: "\d+"/);
  });

  it('patches with --type=merge, and with --subresource=status only the status', async () => {
    await applyCrd();
    sim.store.create(WIDGETS, widget('patched', 'default', { size: 1 }));
    const r = await kubectl('patch', 'widget', 'patched', '--type=merge', '-p', '{"spec":{"size":2},"status":{"observed":5}}');
    expect(r.stdout.trim()).toBe('widget.sim.example.com/patched patched');
    let stored = sim.store.get(WIDGETS, 'default', 'patched');
    expect(stored?.['spec']).toMatchObject({ size: 2 });
    expect(stored?.['status']).toBeUndefined();
    const s = await kubectl('patch', 'widget', 'patched', '--subresource=status', '--type=merge', '-p', '{"spec":{"size":9},"status":{"observed":5}}');
    expect(s.stderr).toBe('');
    expect(s.stdout.trim()).toBe('widget.sim.example.com/patched patched');
    stored = sim.store.get(WIDGETS, 'default', 'patched');
    expect(stored?.['status']).toEqual({ observed: 5 });
    expect(stored?.['spec']).toMatchObject({ size: 2 });
  });

  it('waits for a condition that is set later', async () => {
    await applyCrd();
    sim.store.create(WIDGETS, widget('waited', 'default', { size: 1 }));
    const wait = kubectlAsync(['wait', '--for=condition=Ready', 'widget/waited', '--timeout=30s']);
    await eventually(() => (sim.faults.openWatches() > 0 ? true : undefined));
    sim.store.patch(WIDGETS, 'default', 'waited', { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Done' }] } }, { subresource: 'status' });
    const r = await wait.done;
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('widget.sim.example.com/waited condition met');
    expect(r.code).toBe(0);
  });

  it('deletes an object with a pending finalizer: kubectl waits until the finalizer is removed', async () => {
    await applyCrd();
    sim.store.create(WIDGETS, widget('finalized', 'default', { size: 1 }, { finalizers: ['sim.example.com/hold'] }));
    const watchesBefore = sim.counters.get('watch', 'widgets');
    const del = kubectlAsync(['delete', 'widget', 'finalized', '--timeout=30s']);
    const marked = await eventually(() => sim.store.get(WIDGETS, 'default', 'finalized')?.metadata.deletionTimestamp);
    expect(marked).toBeDefined();
    let exited = false;
    void del.done.then(() => (exited = true));
    // kubectl waits on a watch: once it is open, kubectl has seen the object still there and settled in to wait.
    await eventually(() => (sim.counters.get('watch', 'widgets') > watchesBefore ? true : undefined));
    expect(exited).toBe(false);
    sim.store.patch(WIDGETS, 'default', 'finalized', { metadata: { finalizers: null } });
    const r = await del.done;
    expect(r.stdout.trim()).toBe('widget.sim.example.com "finalized" deleted');
    expect(r.code).toBe(0);
    expect(sim.store.get(WIDGETS, 'default', 'finalized')).toBeUndefined();
  });

  it('creates a generic secret', async () => {
    const r = await kubectl('create', 'secret', 'generic', 'from-kubectl', '--from-literal=token=s3cr3t');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('secret/from-kubectl created');
    expect(sim.store.get('secrets', 'default', 'from-kubectl')?.['data']).toEqual({ token: Buffer.from('s3cr3t').toString('base64') });
    const listed = await kubectl('get', 'secret', 'from-kubectl');
    expect(listed.stdout.trim().split('\n')[0]?.split(/\s+/)).toEqual(['NAME', 'TYPE', 'AGE']);
    expect(listed.stdout).toContain('Opaque');
  });

  it('answers auth can-i --as a service account from the stored RBAC', async () => {
    await applyCrd();
    await kubectl('create', 'namespace', 'team');
    const rbac: KObject[] = [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'widget-status', namespace: 'team' },
        rules: [
          { apiGroups: [GROUP], resources: ['widgets'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: [GROUP], resources: ['widgets/status'], verbs: ['patch'] },
          { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['only-this'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'widget-status', namespace: 'team' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'widget-status' },
        subjects: [{ kind: 'ServiceAccount', name: 'op', namespace: 'team' }],
      },
    ];
    const applied = await kubectl('apply', '-f', await manifest('rbac.yaml', rbac));
    expect(applied.code).toBe(0);
    // `kubectl create role|rolebinding` send protobuf bodies; the grants must arrive intact.
    expect((await kubectl('create', 'role', 'lease-reader', '--verb=get', '--resource=leases.coordination.k8s.io', '-n', 'team')).code).toBe(0);
    expect((await kubectl('create', 'rolebinding', 'lease-reader', '--role=lease-reader', '--serviceaccount=team:op', '-n', 'team')).code).toBe(0);
    expect(sim.store.get('roles.rbac.authorization.k8s.io', 'team', 'lease-reader')?.['rules']).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get'] },
    ]);
    const as = '--as=system:serviceaccount:team:op';
    const yes = await kubectl('auth', 'can-i', 'list', 'widgets', '-n', 'team', as);
    expect(yes.stdout.trim()).toBe('yes');
    expect(yes.code).toBe(0);
    const status = await kubectl('auth', 'can-i', 'patch', 'widgets', '--subresource=status', '-n', 'team', as);
    expect(status.stdout.trim()).toBe('yes');
    const named = await kubectl('auth', 'can-i', 'get', 'secret/only-this', '-n', 'team', as);
    expect(named.stdout.trim()).toBe('yes');
    expect((await kubectl('auth', 'can-i', 'get', 'leases', '-n', 'team', as)).stdout.trim()).toBe('yes');
    const no = await kubectl('auth', 'can-i', 'update', 'widgets', '-n', 'team', as);
    expect(no.stdout.trim()).toBe('no');
    expect(no.code).toBe(1);
    expect((await kubectl('auth', 'can-i', 'list', 'widgets', '-n', 'default', as)).stdout.trim()).toBe('no');
    expect((await kubectl('auth', 'can-i', 'get', 'secret/other', '-n', 'team', as)).stdout.trim()).toBe('no');
    // The same evaluation guards real requests made as that user.
    const denied = await kubectl('get', 'secrets', '-n', 'team', as);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('User "system:serviceaccount:team:op" cannot list resource "secrets" in API group "" in the namespace "team"');
    const allowed = await kubectl('get', 'widgets', '-n', 'team', as);
    expect(allowed.code).toBe(0);
  });

  it('npm run sim: writes a kubeconfig, prints the URL, serves kubectl and stops on SIGTERM', async () => {
    const path = join(home, 'sim-kubeconfig');
    const child = spawn(join(process.cwd(), 'node_modules/.bin/tsx'), ['test/kube-sim/main.ts', '--port', '0', '--kubeconfig', path], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const url = await eventually(() => /^(http:\/\/127\.0\.0\.1:\d+)$/m.exec(out)?.[1], 30_000);
      const r = await kubectlAsync(['get', 'namespaces', '-o', 'name'], { kubeconfig: path }).done;
      expect(r.stdout).toContain('namespace/default');
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      // A failed step above must not leave a simulator process behind.
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
  });
});
