/**
 * A named network namespace: a lab node's kernel (its VXLAN devices, fdb
 * nexthops and FDB entries), or a test's. It has no link to the host's
 * namespace; only its loopback is brought up. Deleting it deletes every
 * device inside.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { run, type ExecResult } from './exec.js';

export class NetworkNamespace {
  private deleted = false;

  protected constructor(readonly name: string) {}

  /** Creates the namespace (it must not exist) and brings its loopback up. */
  static async add(name: string): Promise<NetworkNamespace> {
    const ns = new NetworkNamespace(name);
    await ns.setUp();
    return ns;
  }

  /** An existing namespace by name (undefined when there is none). */
  static existing(name: string): NetworkNamespace | undefined {
    return NetworkNamespace.exists(name) ? new NetworkNamespace(name) : undefined;
  }

  /** True when `ip netns` knows the name (iproute2 keeps a bind mount under /run/netns). */
  static exists(name: string): boolean {
    return existsSync(`/run/netns/${name}`);
  }

  protected async setUp(): Promise<void> {
    await run('ip', ['netns', 'add', this.name]);
    try {
      await this.ip('link', 'set', 'lo', 'up');
    } catch (err) {
      await this.destroy();
      throw err;
    }
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

  /** The argv that runs `cmd args` inside the namespace (for a Daemon). */
  wrap(cmd: string, args: readonly string[]): { command: string; args: string[] } {
    return { command: 'ip', args: ['netns', 'exec', this.name, cmd, ...args] };
  }

  /**
   * Starts a long-running process inside the namespace. The caller owns the
   * child and ends it by pid.
   */
  spawn(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    const w = this.wrap(cmd, args);
    return spawn(w.command, w.args, { stdio: 'pipe', ...opts });
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

  /** Deletes the namespace (once). */
  async destroy(): Promise<void> {
    if (this.deleted) return;
    this.deleted = true;
    await run('ip', ['netns', 'delete', this.name]);
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
