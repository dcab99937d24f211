/**
 * A private network namespace for one test: the lab's NetworkNamespace
 * (src/lab/netns.ts) with a unique name `evt-<pid>-<hex>` and a test's
 * lifetime — `destroy()` deletes it (and with it every device inside); an
 * exit hook does the same, and kills processes started in it, if the test
 * never gets there.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { NetworkNamespace, stopChild } from '../../src/lab/netns.js';
import { registerCleanup } from './cleanup.js';
import { runSync } from './exec.js';

export { stopChild };

/** Every test namespace starts with this prefix and the creating pid, so leftovers can be traced and swept. */
export const NETNS_PREFIX = 'evt-';

export class Netns extends NetworkNamespace {
  private unregister: () => void;

  private constructor(name: string) {
    super(name);
    this.unregister = registerCleanup(() => runSync('ip', ['netns', 'delete', name]));
  }

  static async create(): Promise<Netns> {
    const ns = new Netns(`${NETNS_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`);
    try {
      await ns.setUp();
    } catch (err) {
      ns.unregister();
      throw err;
    }
    return ns;
  }

  /**
   * Starts a long-running process inside the namespace (a node script, an
   * agent). The caller owns the child; `stopChild` ends it by pid.
   */
  override spawn(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    const child = super.spawn(cmd, args, opts);
    const unregister = registerCleanup(() => {
      if (child.exitCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
    child.once('exit', unregister);
    return child;
  }

  override async destroy(): Promise<void> {
    await super.destroy();
    this.unregister();
  }
}
