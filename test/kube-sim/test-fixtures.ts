/** Shared by the simulator's own tests: a small CRD of our own and raw HTTP helpers. */
import type { KObject } from './types.js';

export const GROUP = 'sim.example.com';
export const VERSION = 'v1';
export const PLURAL = 'widgets';
export const WIDGETS = `${PLURAL}.${GROUP}`;

export function widgetCrd(opts: { statusSubresource?: boolean } = {}): KObject {
  const version: Record<string, unknown> = {
    name: VERSION,
    served: true,
    storage: true,
    additionalPrinterColumns: [
      { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
      { name: 'Color', type: 'string', jsonPath: '.spec.color' },
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    ],
    schema: {
      openAPIV3Schema: {
        type: 'object',
        properties: {
          spec: {
            type: 'object',
            required: ['size'],
            properties: {
              size: { type: 'integer', minimum: 1, maximum: 10 },
              color: { type: 'string', enum: ['red', 'blue'], default: 'blue' },
              label: { type: 'string', maxLength: 10, pattern: '^[a-z]+$' },
            },
          },
          status: {
            type: 'object',
            properties: {
              observed: { type: 'integer' },
              conditions: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['type', 'status'],
                  properties: {
                    type: { type: 'string' },
                    status: { type: 'string' },
                    reason: { type: 'string' },
                    message: { type: 'string' },
                    lastTransitionTime: { type: 'string' },
                  },
                },
              },
            },
          },
        },
      },
    },
  };
  if (opts.statusSubresource !== false) version['subresources'] = { status: {} };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: WIDGETS },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { plural: PLURAL, singular: 'widget', kind: 'Widget', listKind: 'WidgetList', shortNames: ['wd'] },
      versions: [version],
    },
  };
}

export function widget(name: string, namespace: string, spec: Record<string, unknown>, extra: Partial<KObject['metadata']> = {}): KObject {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'Widget', metadata: { name, namespace, ...extra }, spec };
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: () => unknown;
}

/** One HTTP request with a bearer token, answered raw (status, headers, body). */
export async function raw(
  url: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const h: Record<string, string> = { ...headers };
  if (token) h['Authorization'] = `Bearer ${token}`;
  if (body !== undefined) h['Content-Type'] ??= 'application/json';
  const init: RequestInit = { method, headers: h };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(url + path, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
