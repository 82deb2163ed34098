import { isIPv4 } from 'node:net';

/**
 * Whether an address the server is bound to is reachable from this machine
 * only: 127.0.0.0/8, ::1 or an IPv4-mapped 127.x, in the canonical form
 * server.address() reports. A wildcard (0.0.0.0, ::) is not.
 */
export function isLoopbackAddress(address: string): boolean {
  if (isIPv4(address)) return address.startsWith('127.');
  const lower = address.toLowerCase();
  return lower === '::1' || (lower.startsWith('::ffff:') && isIPv4(lower.slice(7)) && lower.startsWith('::ffff:127.'));
}
