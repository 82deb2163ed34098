/**
 * metav1.Condition handling: lastTransitionTime moves only when a
 * condition's status changes, so rewriting the same observation is a no-op.
 */
import type { Condition, ConditionStatus } from './types.js';

export const READY = 'Ready';

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Returns `conditions` with `input` set (a new array; the input is not
 * modified). `now` is RFC 3339 and becomes lastTransitionTime only when the
 * status differs from the existing condition's.
 */
export function setCondition(conditions: readonly Condition[] | undefined, input: ConditionInput, now: string): Condition[] {
  const list = conditions ? [...conditions] : [];
  const i = list.findIndex((c) => c.type === input.type);
  const existing = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    lastTransitionTime: existing && existing.status === input.status ? existing.lastTransitionTime : now,
  };
  if (input.observedGeneration !== undefined) next.observedGeneration = input.observedGeneration;
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function conditionsEqual(a: readonly Condition[] | undefined, b: readonly Condition[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  return x.every((c, i) => {
    const d = y[i];
    return (
      d !== undefined &&
      c.type === d.type &&
      c.status === d.status &&
      c.reason === d.reason &&
      c.message === d.message &&
      c.observedGeneration === d.observedGeneration &&
      c.lastTransitionTime === d.lastTransitionTime
    );
  });
}

/** Kubernetes serializes metav1.Time at second precision. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
