import { describe, expect, it } from 'vitest';
import { conditionsEqual, findCondition, rfc3339, setCondition } from '../../src/controller/conditions.js';
import { applyStatusPatch, statusPatch, type DesiredStatus } from '../../src/controller/status.js';
import type { MixpeekSecretStatus } from '../../src/controller/types.js';

const T0 = '2026-11-26T10:00:00Z';
const T1 = '2026-11-26T11:00:00Z';

describe('conditions', () => {
  it('lastTransitionTime moves only when the status changes', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'SecretNotFound', message: 'm', observedGeneration: 1 }, T0);
    expect(a).toEqual([{ type: 'Ready', status: 'False', reason: 'SecretNotFound', message: 'm', observedGeneration: 1, lastTransitionTime: T0 }]);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'KeyNotFound', message: 'm2', observedGeneration: 2 }, T1);
    expect(b[0]).toMatchObject({ reason: 'KeyNotFound', observedGeneration: 2, lastTransitionTime: T0 });
    const c = setCondition(b, { type: 'Ready', status: 'True', reason: 'Synced', message: 'ok' }, T1);
    expect(c[0]?.lastTransitionTime).toBe(T1);
    expect(a[0]?.reason).toBe('SecretNotFound'); // input untouched
  });

  it('other condition types are kept in place', () => {
    const list = setCondition([{ type: 'Other', status: 'True', reason: 'X', message: '', lastTransitionTime: T0 }], { type: 'Ready', status: 'True', reason: 'Synced', message: '' }, T1);
    expect(list.map((c) => c.type)).toEqual(['Other', 'Ready']);
    expect(findCondition(list, 'Ready')?.status).toBe('True');
    expect(conditionsEqual(list, [...list])).toBe(true);
    expect(conditionsEqual(list, list.slice(1))).toBe(false);
  });

  it('formats times at second precision like metav1.Time', () => {
    expect(rfc3339(Date.parse('2026-11-26T10:00:00.987Z'))).toBe(T0);
  });
});

const synced: DesiredStatus = {
  generation: 2,
  ready: { status: 'True', reason: 'Synced', message: 'pushed' },
  sync: { secretName: 'v', updated: true, syncedResourceVersion: '42', lastSyncTime: T0 },
};

describe('statusPatch', () => {
  it('from nothing, writes every field', () => {
    const p = statusPatch(undefined, synced, T0);
    expect(p).toEqual({
      status: {
        conditions: [{ type: 'Ready', status: 'True', reason: 'Synced', message: 'pushed', observedGeneration: 2, lastTransitionTime: T0 }],
        observedGeneration: 2,
        secretName: 'v',
        updated: true,
        syncedResourceVersion: '42',
        lastSyncTime: T0,
      },
    });
  });

  it('is null when nothing would change (no write, no churn)', () => {
    const current = applyStatusPatch(undefined, statusPatch(undefined, synced, T0) ?? { status: {} });
    expect(statusPatch(current, synced, T1)).toBeNull();
    const failed: DesiredStatus = { generation: 2, ready: { status: 'False', reason: 'EmptyValue', message: 'empty' } };
    const afterFail = applyStatusPatch(current, statusPatch(current, failed, T1) ?? { status: {} });
    expect(statusPatch(afterFail, failed, '2026-11-26T12:00:00Z')).toBeNull();
  });

  it('a failure changes only the condition and keeps the last sync record', () => {
    const current = applyStatusPatch(undefined, statusPatch(undefined, synced, T0) ?? { status: {} });
    const p = statusPatch(current, { generation: 2, ready: { status: 'False', reason: 'RateLimited', message: 'slow down' } }, T1);
    expect(Object.keys(p?.status ?? {})).toEqual(['conditions']);
    expect(p?.status.conditions?.[0]).toMatchObject({ status: 'False', lastTransitionTime: T1 });
  });

  it('writes only the fields that changed', () => {
    const current = applyStatusPatch(undefined, statusPatch(undefined, synced, T0) ?? { status: {} });
    const next: DesiredStatus = { ...synced, sync: { secretName: 'v', updated: true, syncedResourceVersion: '43', lastSyncTime: T1 } };
    expect(statusPatch(current, next, T1)).toEqual({ status: { syncedResourceVersion: '43', lastSyncTime: T1 } });
  });

  it('updated: null after a create removes the field, and absent equals null', () => {
    const current: MixpeekSecretStatus = { updated: true };
    const created: DesiredStatus = { ...synced, sync: { secretName: 'v', updated: null, syncedResourceVersion: '42', lastSyncTime: T0 } };
    const p = statusPatch(current, created, T0);
    expect(p?.status.updated).toBeNull();
    const after = applyStatusPatch(current, p ?? { status: {} });
    expect('updated' in after).toBe(false);
    expect(statusPatch(after, created, T1)).toBeNull();
  });

  it('a new generation is recorded even when the condition is otherwise the same', () => {
    const current = applyStatusPatch(undefined, statusPatch(undefined, synced, T0) ?? { status: {} });
    const p = statusPatch(current, { ...synced, generation: 3 }, T1);
    expect(p?.status.observedGeneration).toBe(3);
    expect(p?.status.conditions?.[0]).toMatchObject({ observedGeneration: 3, lastTransitionTime: T0 });
  });
});
