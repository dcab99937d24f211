import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OWNER_PID_FILE, registerCleanup } from './cleanup.js';
import { run, type ExecResult } from './exec.js';

const SCHEMA_CANDIDATES = ['/usr/share/openvswitch/vswitch.ovsschema', '/usr/local/share/openvswitch/vswitch.ovsschema'];

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface DummyPortOptions {
  /** Requested OpenFlow port number. */
  ofport?: number;
  /** Interface external_ids, e.g. `{ 'evpn-vni': '100' }`. */
  externalIds?: Record<string, string>;
  /** Record every frame the port transmits into this pcap file. */
  txPcap?: string;
  /** Extra `options:` of the dummy netdev (e.g. `stream`/`pstream`). */
  options?: Record<string, string>;
}

/**
 * A throwaway Open vSwitch: its own ovsdb-server and `ovs-vswitchd
 * --enable-dummy=override` in a fresh temporary run directory, so bridges use
 * the userspace dummy datapath and nothing touches the kernel's network. Any
 * number can run at once. `stop()` kills both daemons by pid and removes the
 * directory.
 */
export class OvsSandbox {
  readonly env: NodeJS.ProcessEnv;
  private ovsdb?: ChildProcess;
  private vswitchd?: ChildProcess;
  private unregister: () => void;

  private constructor(readonly dir: string) {
    this.env = { ...process.env, OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir, OVS_SYSCONFDIR: dir };
    this.unregister = registerCleanup(() => {
      for (const child of [this.vswitchd, this.ovsdb]) {
        if (child?.pid !== undefined && child.exitCode === null) {
          try {
            process.kill(child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      rmSync(dir, { recursive: true, force: true });
    });
  }

  /** The directory an OpenFlow/OVSDB client is pointed at (`--ovs-rundir`). */
  get rundir(): string {
    return this.dir;
  }

  get dbSocket(): string {
    return join(this.dir, 'db.sock');
  }

  /** Path of a bridge's OpenFlow management socket. */
  mgmtSocket(bridge: string): string {
    return join(this.dir, `${bridge}.mgmt`);
  }

  static async start(): Promise<OvsSandbox> {
    const dir = mkdtempSync(join(tmpdir(), 'evpn-ovs-'));
    // Names this process as the owner, so a parallel run's leftover sweep
    // (global-setup.ts) leaves the directory alone before the daemons start.
    writeFileSync(join(dir, OWNER_PID_FILE), String(process.pid));
    const sandbox = new OvsSandbox(dir);
    try {
      await sandbox.boot();
    } catch (err) {
      await sandbox.stop();
      throw err;
    }
    return sandbox;
  }

  private async boot(): Promise<void> {
    const schema = SCHEMA_CANDIDATES.find((p) => existsSync(p));
    if (!schema) throw new Error('vswitch.ovsschema not found: is openvswitch-switch installed?');
    await run('ovsdb-tool', ['create', join(this.dir, 'conf.db'), schema], { env: this.env });
    this.ovsdb = spawn(
      'ovsdb-server',
      [
        join(this.dir, 'conf.db'),
        `--remote=punix:${this.dbSocket}`,
        `--unixctl=${join(this.dir, 'ovsdb-server.ctl')}`,
        '--no-chdir',
        '-vconsole:off',
        `--log-file=${join(this.dir, 'ovsdb-server.log')}`,
      ],
      { env: this.env, stdio: 'ignore' },
    );
    await waitFor('ovsdb-server socket', () => existsSync(this.dbSocket));
    await this.vsctl('--no-wait', 'init');
    await this.startVswitchd();
  }

  /** Starts ovs-vswitchd (again, after `killVswitchd`), and waits until it answers. */
  async startVswitchd(): Promise<void> {
    this.vswitchd = spawn(
      'ovs-vswitchd',
      [
        `unix:${this.dbSocket}`,
        // Plain --enable-dummy (not =override) keeps the real vxlan netdev
        // class, which native tunnelling on the dummy datapath needs;
        // --disable-system-route keeps the host's routing table out of OVS.
        '--enable-dummy',
        '--disable-system',
        '--disable-system-route',
        `--unixctl=${this.vswitchdCtl}`,
        '--no-chdir',
        '-vconsole:off',
        `--log-file=${join(this.dir, 'ovs-vswitchd.log')}`,
      ],
      { env: this.env, stdio: 'ignore' },
    );
    await waitFor('ovs-vswitchd control socket', () => existsSync(this.vswitchdCtl));
    await waitFor('ovs-vswitchd to answer', async () => {
      try {
        await this.appctl('version');
        return true;
      } catch {
        return false;
      }
    });
  }

  /** Kills ovs-vswitchd (SIGKILL, as a crash would) and waits for it to be gone; OVSDB stays. */
  async killVswitchd(): Promise<void> {
    const child = this.vswitchd;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await gone;
    rmSync(this.vswitchdCtl, { force: true });
  }

  get vswitchdPid(): number | undefined {
    return this.vswitchd?.pid;
  }

  private get vswitchdCtl(): string {
    return join(this.dir, 'ovs-vswitchd.ctl');
  }

  vsctl(...args: string[]): Promise<ExecResult> {
    return run('ovs-vsctl', [`--db=unix:${this.dbSocket}`, '--timeout=20', ...args], { env: this.env });
  }

  /** `ovs-ofctl -O OpenFlow15 CMD BRIDGE ...` against a bridge of this sandbox. */
  ofctl(command: string, bridge: string, ...args: string[]): Promise<ExecResult> {
    return run('ovs-ofctl', ['-O', 'OpenFlow15', command, `unix:${this.mgmtSocket(bridge)}`, ...args], { env: this.env });
  }

  appctl(...args: string[]): Promise<ExecResult> {
    return run('ovs-appctl', ['-t', this.vswitchdCtl, ...args], { env: this.env });
  }

  /** Adds a dummy-datapath bridge speaking OpenFlow 1.3 and 1.5, and waits for its management socket. */
  async addBridge(name: string, opts: { failMode?: 'secure' | 'standalone' } = {}): Promise<void> {
    await this.vsctl(
      'add-br', name,
      '--', 'set', 'Bridge', name, 'datapath_type=dummy', 'protocols=OpenFlow13,OpenFlow15',
      `fail_mode=${opts.failMode ?? 'secure'}`,
    );
    await waitFor(`${name}.mgmt`, () => existsSync(this.mgmtSocket(name)));
  }

  /** Adds a dummy port and returns its OpenFlow port number. */
  async addDummyPort(bridge: string, port: string, opts: DummyPortOptions = {}): Promise<number> {
    const sets = ['type=dummy'];
    if (opts.ofport !== undefined) sets.push(`ofport_request=${opts.ofport}`);
    for (const [k, v] of Object.entries(opts.externalIds ?? {})) sets.push(`external_ids:${k}="${v}"`);
    if (opts.txPcap) sets.push(`options:tx_pcap=${opts.txPcap}`);
    for (const [k, v] of Object.entries(opts.options ?? {})) sets.push(`options:${k}="${v}"`);
    await this.vsctl('add-port', bridge, port, '--', 'set', 'Interface', port, ...sets);
    return this.ofport(port);
  }

  /** The OpenFlow port number OVS assigned to an interface. */
  async ofport(iface: string): Promise<number> {
    let ofport = -1;
    await waitFor(`ofport of ${iface}`, async () => {
      const { stdout } = await this.vsctl('get', 'Interface', iface, 'ofport');
      ofport = Number(stdout.trim());
      return ofport > 0;
    });
    return ofport;
  }

  /** Injects one frame (hex) as if it arrived on a dummy port. */
  async receive(port: string, frameHex: string): Promise<void> {
    await this.appctl('netdev-dummy/receive', port, frameHex);
  }

  /**
   * Makes OpenFlow counters current. Only a megaflow's first packet is
   * counted at translation; later ones are counted in the datapath and reach
   * flow/group stats when a revalidator pass pushes them.
   */
  async settleStats(): Promise<void> {
    await this.appctl('revalidator/wait');
    await this.appctl('revalidator/wait');
  }

  /** The log of ovs-vswitchd, for failure messages. */
  vswitchdLog(): string {
    const path = join(this.dir, 'ovs-vswitchd.log');
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  async stop(): Promise<void> {
    for (const child of [this.vswitchd, this.ovsdb]) {
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
    this.unregister();
  }
}
