import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { registerCleanup } from './cleanup.js';
import { run, runSync, type ExecResult } from './exec.js';

/** Every test namespace starts with this prefix and the creating pid, so leftovers can be traced and swept. */
export const NETNS_PREFIX = 'evt-';

/**
 * A private network namespace for one test. It has no link to the host's
 * namespace; only its loopback is brought up. `destroy()` deletes it (and with
 * it every device inside); an exit hook does the same if the test never gets
 * there.
 */
export class Netns {
  private unregister: () => void;
  private destroyed = false;

  private constructor(readonly name: string) {
    this.unregister = registerCleanup(() => runSync('ip', ['netns', 'delete', name]));
  }

  static async create(): Promise<Netns> {
    const name = `${NETNS_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
    await run('ip', ['netns', 'add', name]);
    const ns = new Netns(name);
    try {
      await ns.ip('link', 'set', 'lo', 'up');
    } catch (err) {
      await ns.destroy();
      throw err;
    }
    return ns;
  }

  /** Runs a command inside the namespace. */
  exec(cmd: string, ...args: string[]): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args]);
  }

  /** `ip -n NAME ...` */
  ip(...args: string[]): Promise<ExecResult> {
    return run('ip', ['-n', this.name, ...args]);
  }

  /** `ip -n NAME -j ...`, parsed. iproute2 prints nothing (not `[]`) for some empty dumps. */
  async ipJson<T = unknown>(...args: string[]): Promise<T[]> {
    const { stdout } = await run('ip', ['-n', this.name, '-j', ...args]);
    return stdout.trim() === '' ? [] : (JSON.parse(stdout) as T[]);
  }

  /** `bridge -n NAME ...` */
  bridge(...args: string[]): Promise<ExecResult> {
    return run('bridge', ['-n', this.name, ...args]);
  }

  /** `bridge -n NAME -j ...`, parsed. */
  async bridgeJson<T = unknown>(...args: string[]): Promise<T[]> {
    const { stdout } = await run('bridge', ['-n', this.name, '-j', ...args]);
    return stdout.trim() === '' ? [] : (JSON.parse(stdout) as T[]);
  }

  /**
   * Starts a long-running process inside the namespace (a node script, an
   * agent). The caller owns the child; `stopChild` ends it by pid.
   */
  spawn(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: 'pipe', ...opts });
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

  /**
   * Creates a VXLAN device that holds FDB state but never emits a packet:
   * no address, no IPv6 link-local (`addrgenmode none`), no learning.
   */
  async addVxlan(name: string, vni: number, opts: { local?: string; port?: number; external?: boolean } = {}): Promise<number> {
    const args = ['link', 'add', name, 'type', 'vxlan', 'id', String(vni), 'dstport', String(opts.port ?? 4789), 'nolearning'];
    if (opts.local) args.push('local', opts.local);
    if (opts.external) args.push('external');
    await this.ip(...args);
    await this.ip('link', 'set', name, 'addrgenmode', 'none');
    await this.ip('link', 'set', name, 'up');
    const [link] = await this.ipJson<{ ifindex: number }>('link', 'show', 'dev', name);
    if (!link) throw new Error(`vxlan device ${name} not found after creation`);
    return link.ifindex;
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await run('ip', ['netns', 'delete', this.name]);
    this.unregister();
  }
}

/** Ends a child process by pid and waits for it (SIGTERM, then SIGKILL after `graceMs`). */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
