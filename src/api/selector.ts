/**
 * metav1.LabelSelector matching, with the apimachinery semantics: requirements
 * are ANDed; an empty selector selects everything (a fabric with
 * `nodeSelector: {}` covers every node); `In`/`NotIn` compare the label's
 * value, `NotIn` and `DoesNotExist` also match nodes without the label.
 */
import type { LabelSelector } from './common.js';

export function selects(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (have[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(have, req.key);
    const value = have[req.key];
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (!present || !values.includes(value!)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(value!)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        // An operator the apiserver would have refused: select nothing rather than everything.
        return false;
    }
  }
  return true;
}
