/** `npm run sim -- --port 0 --kubeconfig PATH`: serve the simulator until SIGTERM/SIGINT. */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createLogger } from '../../src/observability/log.js';
import { startKubeSim } from './index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    kubeconfig: { type: 'string' },
    namespace: { type: 'string' },
    'history-size': { type: 'string', default: '10000' },
    'fault-routes': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'warn' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (values.help) {
  console.log(`kube-sim: a Kubernetes API simulator for tests and development

  --port N             port on 127.0.0.1 (0 = any free port; default 0)
  --kubeconfig PATH    write a kubeconfig with the admin token to PATH
  --namespace NS       default namespace in that kubeconfig
  --history-size N     watch events kept for resuming watches (default 10000)
  --fault-routes       serve the /_sim/ fault and counter routes
  --log-level LEVEL    pino level for request logs (default warn)`);
  process.exit(0);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`kube-sim: --port must be 0..65535, got ${values.port}`);
  process.exit(2);
}
const sim = await startKubeSim({
  port,
  historySize: Number(values['history-size']),
  enableFaultRoutes: values['fault-routes'],
  logger: createLogger({ level: values['log-level'] as 'warn', destination: pino.destination({ fd: 2, sync: false }) }),
});
if (values.kubeconfig) {
  const opts: { namespace?: string } = {};
  if (values.namespace) opts.namespace = values.namespace;
  await sim.writeKubeconfig(values.kubeconfig, opts);
}
console.log(sim.url);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  sim.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
