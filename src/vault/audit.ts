import type { Logger } from '../observability/log.js';

export interface AuditEntry {
  /** Route template, e.g. `PUT /v1/organizations/secrets/{secret_name}`, or `METHOD (unknown route)`. */
  route: string;
  /** The secret's name when the request named a valid one. */
  name?: string | undefined;
  /** created, updated, deleted, listed, or what went wrong: not_found, invalid, unauthorized, injected, … */
  outcome: string;
  status: number;
  role?: string | undefined;
}

/**
 * One line per API request. Built from these fields only, so no value, body,
 * API key or error detail can reach it.
 */
export class AuditLog {
  constructor(private readonly logger: Logger) {}

  record(entry: AuditEntry): void {
    const line: Record<string, unknown> = { audit: true, route: entry.route, outcome: entry.outcome, status: entry.status };
    if (entry.name !== undefined) line.name = entry.name;
    if (entry.role !== undefined) line.role = entry.role;
    if (entry.status >= 500) this.logger.warn(line, 'vault request');
    else this.logger.info(line, 'vault request');
  }
}
