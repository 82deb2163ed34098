/**
 * Run-time validation of a stored MixpeekSecret spec. The CRD schema checks
 * objects on write, but an object stored before a schema change (or written
 * with validation off) can still hold anything; it must end as Ready=False
 * InvalidSpec, never as a crash. Defaults the schema would apply are applied
 * here too, for objects stored before the defaults existed.
 */
import type { DeletionPolicy, MixpeekSecretSpec } from './types.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const VAULT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export class InvalidSpecError extends Error {
  readonly kind = 'InvalidSpec' as const;
  constructor(readonly problems: readonly string[]) {
    super(`invalid spec: ${problems.join('; ')}`);
    this.name = 'InvalidSpecError';
  }
}

/** The shortest refreshInterval other than 0. */
export const MIN_REFRESH_MS = 60_000;

export interface ParsedSpec {
  spec: MixpeekSecretSpec;
  /** refreshInterval in milliseconds; 0 means push only on change. */
  refreshMs: number;
}

export type SpecResult = { ok: true; value: ParsedSpec } | { ok: false; error: InvalidSpecError };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkName(problems: string[], field: string, v: unknown, pattern: RegExp, max: number, what: string): string {
  if (typeof v !== 'string' || v.length === 0) {
    problems.push(`${field} is required and must be a non-empty string`);
    return '';
  }
  if (v.length > max) problems.push(`${field} must be at most ${max} characters`);
  else if (!pattern.test(v)) problems.push(`${field} must be ${what}`);
  return v;
}

export function parseSpec(raw: unknown): SpecResult {
  const problems: string[] = [];
  if (!isRecord(raw)) {
    return { ok: false, error: new InvalidSpecError(['spec is required and must be an object']) };
  }

  let secretName = '';
  let secretKey = '';
  if (!isRecord(raw.secretRef)) {
    problems.push('spec.secretRef is required and must be an object');
  } else {
    secretName = checkName(problems, 'spec.secretRef.name', raw.secretRef.name, DNS_SUBDOMAIN, 253, 'a DNS subdomain (a Secret name)');
    secretKey = checkName(problems, 'spec.secretRef.key', raw.secretRef.key, SECRET_KEY, 253, "letters, digits, '-', '_' or '.'");
  }

  const vaultSecretName = checkName(
    problems,
    'spec.vaultSecretName',
    raw.vaultSecretName,
    VAULT_NAME,
    100,
    "letters, digits, '.', '_' or '-', starting with a letter or digit",
  );

  let createIfMissing = true;
  if (raw.createIfMissing !== undefined && raw.createIfMissing !== null) {
    if (typeof raw.createIfMissing === 'boolean') createIfMissing = raw.createIfMissing;
    else problems.push('spec.createIfMissing must be a boolean');
  }

  let deletionPolicy: DeletionPolicy = 'Retain';
  if (raw.deletionPolicy !== undefined && raw.deletionPolicy !== null) {
    if (raw.deletionPolicy === 'Retain' || raw.deletionPolicy === 'Delete') deletionPolicy = raw.deletionPolicy;
    else problems.push('spec.deletionPolicy must be Retain or Delete');
  }

  let refreshInterval = '0s';
  let refreshMs = 0;
  if (raw.refreshInterval !== undefined && raw.refreshInterval !== null) {
    if (typeof raw.refreshInterval !== 'string') {
      problems.push('spec.refreshInterval must be a duration string such as 1h or 30m');
    } else {
      const ms = parseDurationMs(raw.refreshInterval);
      if (ms === undefined) problems.push('spec.refreshInterval must be a duration string such as 1h or 30m');
      else if (ms < 0) problems.push('spec.refreshInterval must not be negative');
      // Every refresh is a vault call under a rate limit shared by all tenants.
      else if (ms > 0 && ms < MIN_REFRESH_MS) problems.push('spec.refreshInterval must be 0 or at least 1m');
      else {
        refreshInterval = raw.refreshInterval;
        refreshMs = ms;
      }
    }
  }

  let connectionRef: { name: string } | undefined;
  if (raw.connectionRef !== undefined && raw.connectionRef !== null) {
    if (!isRecord(raw.connectionRef)) problems.push('spec.connectionRef must be an object');
    else {
      const name = checkName(problems, 'spec.connectionRef.name', raw.connectionRef.name, DNS_SUBDOMAIN, 253, 'a DNS subdomain (a Secret name)');
      connectionRef = { name };
    }
  }

  if (problems.length > 0) return { ok: false, error: new InvalidSpecError(problems) };
  const spec: MixpeekSecretSpec = {
    secretRef: { name: secretName, key: secretKey },
    vaultSecretName,
    createIfMissing,
    deletionPolicy,
    refreshInterval,
  };
  if (connectionRef) spec.connectionRef = connectionRef;
  return { ok: true, value: { spec, refreshMs } };
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 micro sign
  'μs': 1e-3, // U+03BC Greek mu; Go accepts both
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const SEGMENT = /^([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)/;
/** Go's time.Duration limit, about 290 years. */
const MAX_MS = 9_223_372_036_854;

/**
 * Parses Go duration syntax (time.ParseDuration): an optional sign, then one
 * or more decimal numbers each with a unit, e.g. "300ms", "1.5h", "2h45m";
 * "0" alone is allowed. Returns milliseconds, or undefined if malformed.
 */
export function parseDurationMs(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s.startsWith('-')) sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  while (s.length > 0) {
    const m = SEGMENT.exec(s);
    if (!m) return undefined;
    const whole = m[1] ?? '';
    const frac = m[2];
    const unit = m[3] ?? '';
    if (whole === '' && (frac === undefined || frac === '')) return undefined;
    const n = Number(`${whole === '' ? '0' : whole}.${frac ?? ''}0`);
    const factor = UNIT_MS[unit];
    if (factor === undefined || !Number.isFinite(n)) return undefined;
    total += n * factor;
    s = s.slice(m[0].length);
  }
  if (total > MAX_MS) return undefined;
  return sign * total;
}
