/**
 * A private Open vSwitch: its own ovsdb-server and `ovs-vswitchd
 * --enable-dummy` in one run directory, so bridges use the userspace dummy
 * datapath and nothing touches the kernel's network. Any number can run at
 * once (each lab node has one, the lab's fabric switch another, each test
 * its own). `--ovs-rundir` of the agent points at `dir` (db.sock and
 * `<bridge>.mgmt` live there).
 *
 * The daemons are launched through Daemon, so the same code serves a test
 * (`owned`: stopped by the test, killed by its exit hook) and the lab
 * (`detached`: outlives `lab up`; `OvsInstance.attach` finds it again).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, type Lifetime } from './daemon.js';
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

export class OvsInstance {
  readonly env: NodeJS.ProcessEnv;
  protected ovsdb?: Daemon;
  protected vswitchd?: Daemon;
  private lifetime: Lifetime = 'owned';

  protected constructor(readonly dir: string) {
    this.env = { ...process.env, OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir, OVS_SYSCONFDIR: dir };
  }

  /** Creates the database and starts both daemons in an existing directory. */
  static async launch(dir: string, opts: { lifetime?: Lifetime } = {}): Promise<OvsInstance> {
    const ovs = new OvsInstance(dir);
    await ovs.boot(opts.lifetime ?? 'owned');
    return ovs;
  }

  /** The instance an earlier process launched detached in `dir` (daemons that no longer run read as stopped). */
  static attach(dir: string): OvsInstance {
    const ovs = new OvsInstance(dir);
    ovs.lifetime = 'detached';
    ovs.ovsdb = Daemon.fromPidFile('ovsdb-server', join(dir, 'ovsdb-server.pid'), ovs.logPath('ovsdb-server'), ['ovsdb-server', dir]);
    ovs.vswitchd = Daemon.fromPidFile('ovs-vswitchd', join(dir, 'ovs-vswitchd.pid'), ovs.logPath('ovs-vswitchd'), ['ovs-vswitchd', dir]);
    return ovs;
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

  /** Both daemons, as far as they are known. */
  daemonList(): Daemon[] {
    return [this.ovsdb, this.vswitchd].filter((d): d is Daemon => d !== undefined);
  }

  private logPath(name: string): string {
    return join(this.dir, `${name}.log`);
  }

  protected async boot(lifetime: Lifetime): Promise<void> {
    this.lifetime = lifetime;
    const schema = SCHEMA_CANDIDATES.find((p) => existsSync(p));
    if (!schema) throw new Error('vswitch.ovsschema not found: is openvswitch-switch installed?');
    try {
      await run('ovsdb-tool', ['create', join(this.dir, 'conf.db'), schema], { env: this.env });
      this.ovsdb = Daemon.spawn({
        name: 'ovsdb-server',
        command: 'ovsdb-server',
        args: [
          join(this.dir, 'conf.db'),
          `--remote=punix:${this.dbSocket}`,
          `--unixctl=${join(this.dir, 'ovsdb-server.ctl')}`,
          '--no-chdir',
          '-vconsole:off',
          `--log-file=${this.logPath('ovsdb-server')}`,
        ],
        env: this.env,
        logFile: join(this.dir, 'ovsdb-server.out'),
        pidFile: join(this.dir, 'ovsdb-server.pid'),
        lifetime,
      });
      await waitFor('ovsdb-server socket', () => existsSync(this.dbSocket));
      await this.vsctl('--no-wait', 'init');
      await this.startVswitchd();
    } catch (err) {
      await this.stopDaemons();
      throw err;
    }
  }

  private get vswitchdCtl(): string {
    return join(this.dir, 'ovs-vswitchd.ctl');
  }

  /** Starts ovs-vswitchd (again, after `killVswitchd`), and waits until it answers. */
  async startVswitchd(): Promise<void> {
    this.vswitchd = Daemon.spawn({
      name: 'ovs-vswitchd',
      command: 'ovs-vswitchd',
      args: [
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
        `--log-file=${this.logPath('ovs-vswitchd')}`,
      ],
      env: this.env,
      logFile: join(this.dir, 'ovs-vswitchd.out'),
      pidFile: join(this.dir, 'ovs-vswitchd.pid'),
      lifetime: this.lifetime,
    });
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
    const d = this.vswitchd;
    if (!d?.running) return;
    d.kill();
    await d.waitExit(10_000);
    rmSync(this.vswitchdCtl, { force: true });
  }

  get vswitchdPid(): number | undefined {
    return this.vswitchd?.pid;
  }

  vsctl(...args: string[]): Promise<ExecResult> {
    return run('ovs-vsctl', [`--db=unix:${this.dbSocket}`, '--timeout=20', ...args], { env: this.env });
  }

  /** `ovs-ofctl -O OpenFlow15 CMD BRIDGE ...` against a bridge of this instance. */
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
    const path = this.logPath('ovs-vswitchd');
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  /** Stops ovs-vswitchd, then ovsdb-server, by pid. */
  protected async stopDaemons(): Promise<void> {
    for (const d of [this.vswitchd, this.ovsdb]) await d?.stop(3_000);
  }

  /** Stops both daemons by pid and removes the directory. */
  async stop(): Promise<void> {
    await this.stopDaemons();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
