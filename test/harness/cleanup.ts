/**
 * Last-chance cleanup. Every harness resource registers a synchronous undo
 * here; normal teardown removes it again. If the worker exits with resources
 * still registered (a crash, a timeout that skipped afterEach), the exit hook
 * runs the undos so no namespace, process or directory outlives the run.
 */
/** A harness temp directory names the pid of the process that owns it in this file. */
export const OWNER_PID_FILE = 'owner.pid';

const pending = new Map<number, () => void>();
let nextId = 1;
let hooked = false;

function runAll(): void {
  for (const undo of pending.values()) undo();
  pending.clear();
}

export function registerCleanup(undo: () => void): () => void {
  if (!hooked) {
    hooked = true;
    process.once('exit', runAll);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        runAll();
        process.exit(130);
      });
    }
  }
  const id = nextId++;
  pending.set(id, undo);
  return () => pending.delete(id);
}
