import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeGetJson, shareConnections } from '../../src/controller/kube.js';

const TLS_DIR = new URL('../kube-sim/tls/', import.meta.url);

describe('shareConnections', () => {
  let server: Server;
  let url: string;
  let handshakes = 0;
  const ca = readFileSync(new URL('cert.pem', TLS_DIR), 'utf8');

  beforeAll(async () => {
    server = createServer({ cert: ca, key: readFileSync(new URL('key.pem', TLS_DIR), 'utf8') }, (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ authorization: req.headers.authorization ?? null }));
    });
    server.on('secureConnection', () => (handshakes += 1));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const kubeConfig = (token: string): KubeConfig => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: url, caData: Buffer.from(ca).toString('base64') }],
      users: [{ name: 'u', token }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  };

  it('client-node alone opens a TLS connection per request (the problem)', async () => {
    handshakes = 0;
    const kc = kubeConfig('t1');
    for (let i = 0; i < 10; i++) await kubeGetJson(kc, '/api');
    expect(handshakes).toBe(10);
  });

  it('with shareConnections, requests reuse one connection and still carry the current token', async () => {
    handshakes = 0;
    const kc = shareConnections(kubeConfig('t2'));
    const answers: unknown[] = [];
    for (let i = 0; i < 10; i++) answers.push(await kubeGetJson(kc, '/api'));
    // undici may open a second socket while the first is being returned to the pool; never one per request.
    expect(handshakes).toBeLessThanOrEqual(2);
    expect(answers).toEqual(Array(10).fill({ authorization: 'Bearer t2' }));
  });
});
