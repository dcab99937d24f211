/**
 * metav1.Condition bookkeeping as apimachinery's `meta.SetStatusCondition`
 * does it: `lastTransitionTime` changes only when `status` changes, so a
 * status recomputed with the same verdict is byte-for-byte the stored one
 * and nothing is written.
 */
import type { Condition } from './model.js';

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/** The conditions `desired` describes, keeping transition times from `previous` where status is unchanged. */
export function mergeConditions(previous: readonly Condition[] | undefined, desired: readonly ConditionInput[], now: Date): Condition[] {
  return desired.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    const lastTransitionTime = old && old.status === c.status ? old.lastTransitionTime : formatTime(now);
    return { ...c, lastTransitionTime };
  });
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** metav1.Time: RFC 3339 with second precision (the apiserver truncates anything finer). */
export function formatTime(t: Date): string {
  return t.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Condition messages are bounded (32 KiB in metav1); long lists are cut with a count of the rest. */
export function listForMessage(items: readonly string[], max = 5): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
