/**
 * "Is what the apiserver holds already what we want?" — answered without a
 * write. The stored object may carry more than we sent (fields the CRD
 * defaults, fields other managers own), so the test is containment: every
 * field we would set has the same value; arrays must match element by
 * element and in length (a group removed from a spec must show up as a
 * difference).
 */
export function containsDesired(actual: unknown, desired: unknown): boolean {
  if (desired === undefined) return true;
  if (desired === null || typeof desired !== 'object') return Object.is(actual, desired);
  if (Array.isArray(desired)) {
    // An empty list we send and a list the server omitted mean the same.
    if (desired.length === 0 && (actual === undefined || actual === null)) return true;
    if (!Array.isArray(actual) || actual.length !== desired.length) return false;
    return desired.every((d, i) => containsDesired(actual[i], d));
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
  const a = actual as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([k, v]) => containsDesired(a[k], v));
}
