/** A small fetch wrapper for talking to the vault over a real socket in tests. */

export interface Answer {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw text when the answer is not JSON. */
  body: unknown;
  text: string;
}

export interface ErrorEnvelopeShape {
  success: false;
  status: number;
  error: { message: string; type: string; details: unknown };
}

export interface CallOptions {
  key?: string;
  /** Sent as JSON with content-type application/json. */
  json?: unknown;
  /** Sent as is; content-type from `contentType` only. */
  raw?: string | Uint8Array;
  contentType?: string;
  signal?: AbortSignal;
}

export async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  let body: string | Uint8Array | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  } else if (options.raw !== undefined) {
    body = options.raw;
  }
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  const res = await fetch(`${base}${path}`, { method, headers, body: body ?? null, signal: options.signal ?? null });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

export const SECRETS = '/v1/organizations/secrets';

export function item(name: string): string {
  return `${SECRETS}/${encodeURIComponent(name)}`;
}
