/**
 * Structural equality of plain data (objects, arrays, strings, numbers,
 * bigints, booleans, undefined): field by field, so the order in which an
 * object's properties were written is never part of correctness (as it is
 * when two objects are compared by their JSON text). A property present
 * with the value `undefined` equals one that is absent.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const key in x) if (!deepEqual(x[key], y[key])) return false;
  for (const key in y) if (!(key in x) && y[key] !== undefined) return false;
  return true;
}
