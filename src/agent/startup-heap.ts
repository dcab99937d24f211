/**
 * One full garbage collection when the agent first reaches Ready.
 *
 * The first sync is the agent's one burst: a dump of every kernel object
 * (100,000 FDB entries at bench scale, decoded and translated), the engine's
 * first full computation and the OpenFlow bundle that installs it. V8 sizes
 * the old generation from the live data at its last full collection, so
 * when the burst ends the heap still holds its dead objects, and the process
 * ~100 MiB above what it keeps, until allocation drives V8 to the next
 * major GC — which an agent at rest may not do for a long time. Measured at
 * bench scale (BENCHMARKS.md, Memory): RSS once Ready 305–389 MiB without,
 * 238–243 MiB with; the collection takes ~60 ms, once.
 *
 * `gc` is not exposed without --expose-gc; the flag set at run time exposes
 * it in new contexts only (the main context's globals are left alone). Jest
 * obtains its leak-detection GC the same way.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

/** Runs a full GC; returns how long it took (ms), or undefined if V8 offers none. */
export function collectStartupGarbage(): number | undefined {
  if (collect === undefined) {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
    if (typeof gc !== 'function') return undefined;
    collect = gc as () => void;
  }
  const started = performance.now();
  collect();
  return performance.now() - started;
}
