import { describe, expect, it } from 'vitest';
import { selects } from '../../../src/api/selector.js';

describe('selects (metav1.LabelSelector)', () => {
  const labels = { zone: 'a', role: 'leaf' };
  it.each([
    [undefined, true],
    [{}, true],
    [{ matchLabels: { zone: 'a' } }, true],
    [{ matchLabels: { zone: 'b' } }, false],
    [{ matchLabels: { zone: 'a', role: 'spine' } }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'In' as const, values: ['a', 'b'] }] }, true],
    [{ matchExpressions: [{ key: 'zone', operator: 'In' as const, values: ['b'] }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'NotIn' as const, values: ['a'] }] }, false],
    [{ matchExpressions: [{ key: 'rack', operator: 'NotIn' as const, values: ['1'] }] }, true],
    [{ matchExpressions: [{ key: 'role', operator: 'Exists' as const }] }, true],
    [{ matchExpressions: [{ key: 'rack', operator: 'Exists' as const }] }, false],
    [{ matchExpressions: [{ key: 'rack', operator: 'DoesNotExist' as const }] }, true],
    [{ matchLabels: { zone: 'a' }, matchExpressions: [{ key: 'role', operator: 'DoesNotExist' as const }] }, false],
  ])('%j → %s', (selector, expected) => {
    expect(selects(selector, labels)).toBe(expected);
  });

  it('treats an unknown operator as matching nothing', () => {
    expect(selects({ matchExpressions: [{ key: 'zone', operator: 'Gt' as never }] }, labels)).toBe(false);
  });
});
