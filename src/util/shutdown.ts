/**
 * Clean shutdown on SIGTERM/SIGINT: long-running commands pass the returned
 * AbortSignal down and stop their loops when it fires. A second signal while
 * shutting down exits at once, as an operator pressing Ctrl-C twice expects.
 */
import type { Logger } from './log.js';

export interface ShutdownHandle {
  signal: AbortSignal;
  /** Removes the signal handlers (after the command finished). */
  dispose(): void;
}

export function onShutdownSignals(log?: Logger, signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): ShutdownHandle {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      log?.warn('second signal: exiting immediately', { signal: sig });
      process.exit(130);
    }
    log?.info('shutting down', { signal: sig });
    controller.abort(new Error(`received ${sig}`));
  };
  for (const sig of signals) process.on(sig, handler);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const sig of signals) process.off(sig, handler);
    },
  };
}

/** Resolves when `signal` aborts (immediately if it already has). */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Sleeps `ms`, returning early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
