/**
 * The local lab (DESIGN §8): `up` builds the whole system on one machine —
 * control plane, CRDs, operator, N simulated nodes joined by a simulated
 * fabric, the sample manifests — and waits until it has converged; `status`
 * reports every process and the cluster's view; `down` stops everything by
 * pid and removes namespaces and files.
 *
 * Every process is started detached with a pid file and a log in the lab
 * directory, so the lab outlives `up`. `up` on a running lab reuses what
 * runs, restarts stateless processes that died (agents, relays, operator)
 * and rebuilds a node's Open vSwitch that died; it refuses only when the
 * control plane itself is half gone.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ControlPlane, missingControlPlaneBinaries, controlPlaneBinDir, freePort } from './control-plane.js';
import { readConvergence, waitForConvergence, type Convergence } from './convergence.js';
import { Daemon, pidsUsing, stopPid, waitForFile } from './daemon.js';
import { haveCommand, run, type CommandError } from './exec.js';
import { controlNetnsName, ensureControlNetwork } from './control-network.js';
import { FABRIC_BRIDGE, addFabricPort, createFabricSwitch } from './fabric.js';
import { FRR_BIN_DIR, FRR_DAEMONS, findFrrDaemon, frrPaths, startFrr, stopFrr } from './frr.js';
import { findGobgpd, gobgpPaths, startGobgpd } from './gobgp.js';
import { bgpdDetail, evpnPending, gobgpdDetail, zebraDetail } from './evpn-status.js';
import { DEFAULT_NODES, LabLayout, MAX_NODES, MULTIHOMED_SERVICE, RUN_ROOT, exportedMacs, hostsMultihomedService, nodeName, underlayAddress, type LabRecord } from './layout.js';
import { AGENT_NAMESPACE, BUILD_SCRIPT, EXAMPLES_DIR, agentSecurityManifests } from './manifests.js';
import { NetworkNamespace } from './netns.js';
import {
  agentKubeconfig,
  createNodeOvs,
  ensureNodeNamespace,
  ensureNodeObject,
  findNodeDaemon,
  netnsName,
  repairNodeOvs,
  startAgent,
  startNodeRelay,
  type NodeContext,
} from './node.js';
import { OvsInstance } from './ovs-instance.js';

export const DEFAULT_NETNS_PREFIX = 'evpn-lab-';
/**
 * Both worlds per node: kernel FDB entries an EVPN control plane installed
 * (ECMP, single path) that the agent mirrors, and per VNI its local MACs
 * and how many it exported for FRR to advertise.
 */
export const EVPN_COLUMNS = 'NAME:.metadata.name,LEARNED-ECMP:.status.learned.ecmp,LEARNED-1PATH:.status.learned.singlePath,VNI:.status.local[*].vni,LOCAL-MACS:.status.local[*].macs,EXPORTED:.status.local[*].exported';
const OVS_TOOLS = ['ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-ofctl', 'ovs-appctl'];

export interface LabUpOptions {
  dir: string;
  nodes?: number;
  /** argv prefix that runs `evpn-ecmp` for the lab's processes (default: this process's own entry). */
  cli?: string[];
  netnsPrefix?: string;
  /** Apply examples/ (default true). */
  samples?: boolean;
  convergenceTimeoutMs?: number;
  /** Progress lines (what is being started, convergence). */
  onProgress?: (line: string) => void;
}

export interface ProcessHealth {
  name: string;
  pid: number | undefined;
  running: boolean;
  detail: string;
  logFile: string;
}

/** The argv prefix that runs this very CLI again (node, its flags such as a loader, the entry script). */
export function selfCli(): string[] {
  const entry = process.argv[1];
  if (!entry) throw new Error('cannot tell which script runs evpn-ecmp (process.argv[1] is empty)');
  return [process.execPath, ...absoluteNodeFlags(process.execArgv), resolvePath(entry)];
}

/**
 * Node resolves the module named by `--import`/`--loader`/`--require`
 * (e.g. `--import tsx`) from the working directory; the lab's processes run
 * in the lab directory, so such names are resolved here, once.
 */
function absoluteNodeFlags(argv: readonly string[]): string[] {
  const takesModule = new Set(['--import', '--loader', '--experimental-loader', '--require', '-r']);
  const resolveFromCwd = createRequire(join(process.cwd(), 'noop.js'));
  const absolute = (spec: string) => {
    if (spec.startsWith('file:') || spec.startsWith('/') || spec.startsWith('data:')) return spec;
    try {
      return pathToFileURL(resolveFromCwd.resolve(spec)).href;
    } catch {
      return spec;
    }
  };
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    if (eq > 0 && takesModule.has(a.slice(0, eq))) out.push(`${a.slice(0, eq)}=${absolute(a.slice(eq + 1))}`);
    else if (takesModule.has(a) && i + 1 < argv.length) out.push(a, absolute(argv[++i]!));
    else out.push(a);
  }
  return out;
}

/** What the lab needs from the machine; one line per missing piece. */
export function missingLabPrerequisites(): string[] {
  const out: string[] = [];
  if (process.getuid?.() !== 0) out.push('root privileges (network namespaces are created with `ip netns add`)');
  for (const t of ['ip', 'bridge', 'openssl', ...OVS_TOOLS, 'vtysh', 'gobgpd', 'gobgp']) if (!haveCommand(t)) out.push(`${t} on PATH`);
  for (const d of FRR_DAEMONS) if (!haveCommand(`${FRR_BIN_DIR}/${d}`)) out.push(`${FRR_BIN_DIR}/${d} (Debian package frr)`);
  const cp = missingControlPlaneBinaries();
  if (cp.length) out.push(`${cp.join(', ')} in ${controlPlaneBinDir()} (run scripts/control-plane/build.sh, or npm run bootstrap)`);
  return out;
}

function operatorMarks(layout: LabLayout): string[] {
  return ['operator', `--kubeconfig ${join(layout.controlPlaneDir, 'admin.kubeconfig')}`];
}

function hostRelayMarks(layout: LabLayout): string[] {
  return ['relay', `--listen unix:${layout.apiserverRelaySocket}`];
}

export class Lab {
  private constructor(
    readonly layout: LabLayout,
    readonly record: LabRecord,
    readonly cp: ControlPlane,
  ) {}

  get dir(): string {
    return this.layout.dir;
  }

  get nodes(): string[] {
    return this.record.nodes;
  }

  get kubeconfigPath(): string {
    return this.cp.kubeconfigPath;
  }

  netns(node: string): string {
    return netnsName(this.record.netnsPrefix, node);
  }

  /** The node's Open vSwitch (its run directory holds db.sock and br-evpn.mgmt). */
  nodeOvs(node: string): OvsInstance {
    return OvsInstance.attach(this.layout.nodeOvsDir(node));
  }

  fabricOvs(): OvsInstance {
    return OvsInstance.attach(this.layout.fabricDir);
  }

  /** The lab recorded in `dir`; undefined when there is none. */
  static open(dir: string): Lab | undefined {
    const layout = new LabLayout(dir);
    const record = layout.read();
    if (!record) return undefined;
    const cp = ControlPlane.attach(layout.controlPlaneDir);
    if (!cp) throw new Error(`${dir}: lab.json exists but the control plane directory does not; run \`evpn-ecmp lab down --dir ${dir}\``);
    return new Lab(layout, record, cp);
  }

  /** Builds the lab, or completes and repairs a running one; resolves once converged. */
  static async up(opts: LabUpOptions): Promise<Lab> {
    const say = opts.onProgress ?? (() => undefined);
    const layout = new LabLayout(opts.dir);
    const existing = layout.read();
    const count = opts.nodes ?? existing?.nodes.length ?? DEFAULT_NODES;
    if (!Number.isInteger(count) || count < 3 || count > MAX_NODES) throw new Error(`--nodes must be between 3 and ${MAX_NODES} (the sample groups need node-a, node-b and node-c)`);
    if (existing && existing.nodes.length !== count) {
      throw new Error(`the lab in ${opts.dir} runs ${existing.nodes.length} nodes; run \`evpn-ecmp lab down\` first to change to ${count}`);
    }
    if (missingControlPlaneBinaries().length && existsSync(BUILD_SCRIPT)) {
      // Built once from their Go modules and cached; later labs reuse them.
      say(`building the control-plane binaries into ${controlPlaneBinDir()} (once; this takes minutes)`);
      await run('bash', [BUILD_SCRIPT], { timeoutMs: 60 * 60_000 });
    }
    const missing = missingLabPrerequisites();
    if (missing.length) throw new Error(`the lab needs: ${missing.join('; ')}`);

    mkdirSync(opts.dir, { recursive: true });
    let lab: Lab;
    if (existing) {
      const cp = ControlPlane.attach(layout.controlPlaneDir);
      const dead = ['etcd', 'kube-apiserver', 'kube-controller-manager'].filter((d) => cp?.pids()[d] === undefined);
      if (!cp || dead.length) {
        throw new Error(`the lab's control plane in ${opts.dir} is not running (${dead.join(', ') || 'no kubeconfig'}); run \`evpn-ecmp lab down\` and \`lab up\` again`);
      }
      say(`reusing the running lab in ${opts.dir}`);
      lab = new Lab(layout, existing, cp);
    } else {
      if (existsSync(layout.controlPlaneDir)) rmSync(layout.controlPlaneDir, { recursive: true, force: true });
      mkdirSync(layout.controlPlaneDir, { recursive: true });
      say('starting etcd, kube-apiserver and kube-controller-manager on loopback, applying the CRDs');
      const cp = await ControlPlane.launch(layout.controlPlaneDir, { lifetime: 'detached', crds: true, controllerManager: true, clusterName: 'evpn-lab' });
      const record: LabRecord = {
        version: 1,
        netnsPrefix: opts.netnsPrefix ?? DEFAULT_NETNS_PREFIX,
        cli: opts.cli ?? selfCli(),
        nodes: Array.from({ length: count }, (_, i) => nodeName(i)),
        apiserverPort: Number(new URL(cp.server).port),
        operatorHealthPort: await freePort(),
        operatorMetricsPort: await freePort(),
        createdAt: new Date().toISOString(),
      };
      // Recorded before anything else starts, so `lab down` can clean up a half-built lab.
      layout.write(record);
      lab = new Lab(layout, record, cp);
    }
    await lab.build(say);
    if (opts.samples !== false) {
      say(`applying the sample fabric and group (${EXAMPLES_DIR})`);
      await lab.createSamples();
    }
    say('waiting for convergence');
    try {
      await waitForConvergence(lab.cp, lab.nodes, {
        timeoutMs: opts.convergenceTimeoutMs ?? 180_000,
        onProgress: (line, ms) => say(`[${(ms / 1000).toFixed(0).padStart(3)} s] ${line}`),
        check: () => lab.deadProcess(),
      });
    } catch (err) {
      // The agents' own words on why they are not ready, before anyone tears the lab down.
      const pending = await readConvergence(lab.cp, lab.nodes).then((c) => Object.keys(c.nodesPending), () => lab.nodes);
      const logs = pending.map((n) => `--- ${n}/agent.log (last lines)\n${tail(join(layout.nodeDir(n), 'agent.log'), 8)}`);
      throw new Error([(err as Error).message, ...logs].join('\n'));
    }
    // Without the samples there is no fabric: no agent creates the devices
    // zebra takes the VNIs from, so there are BGP sessions and no routes.
    const routes = opts.samples !== false;
    say(
      routes
        ? `waiting for the EVPN control plane: BGP sessions, ${MULTIHOMED_SERVICE.mac} and every node's exported MACs installed by zebra and mirrored by the agents`
        : 'waiting for the BGP sessions (no fabric: no VNI yet)',
    );
    await lab.waitForEvpn(opts.convergenceTimeoutMs ?? 180_000, say, { routes });
    return lab;
  }

  /**
   * Polls until every BGP session is up and (`routes`, default) every node
   * that does not host the multihomed service has it in its kernel behind
   * both hosting VTEPs, every node has the other nodes' exported MACs as
   * single-path entries from their type-2 routes, and every agent counts
   * them in `status.learned` (ecmp, singlePath).
   */
  async waitForEvpn(timeoutMs: number, say: (line: string) => void = () => undefined, opts: { routes?: boolean } = {}): Promise<void> {
    const start = Date.now();
    let last = '';
    for (;;) {
      const trouble = this.deadProcess();
      if (trouble) throw new Error(trouble);
      const pending = await evpnPending(this.layout, this.nodes, (n) => this.netns(n), { routes: opts.routes });
      if (pending.length === 0 && opts.routes !== false) pending.push(...(await this.learnedPending()));
      const line = pending.length ? `EVPN: waiting for ${pending[0]}${pending.length > 1 ? ` (+${pending.length - 1})` : ''}` : 'EVPN converged';
      const elapsed = Date.now() - start;
      if (line !== last) say(`[${(elapsed / 1000).toFixed(0).padStart(3)} s] ${line}`);
      last = line;
      if (pending.length === 0) return;
      if (elapsed > timeoutMs) throw new Error(`EVPN not converged after ${Math.round(timeoutMs / 1000)} s: ${pending.join('; ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /**
   * Nodes whose agent does not (yet) report what zebra installed: the
   * multihomed service among its learned ECMP entries, the other nodes'
   * exported MACs among its learned single-path ones.
   */
  private async learnedPending(): Promise<string[]> {
    const { stdout } = await this.cp.kubectl('get', 'vns', '-o', 'json');
    const items = (JSON.parse(stdout) as { items: { metadata: { name: string }; status?: { learned?: { ecmp?: number; singlePath?: number } } }[] }).items;
    const learned = new Map(items.map((i) => [i.metadata.name, i.status?.learned ?? {}]));
    const pending: string[] = [];
    for (const n of this.nodes) {
      const l = learned.get(n) ?? {};
      if (!hostsMultihomedService(n) && (l.ecmp ?? 0) < 1) pending.push(`vns/${n}: learned.ecmp ${l.ecmp ?? 0}`);
      const remote = this.nodes.filter((o) => o !== n).reduce((sum, o) => sum + exportedMacs(o).length, 0);
      if ((l.singlePath ?? 0) < remote) pending.push(`vns/${n}: learned.singlePath ${l.singlePath ?? 0} of the other nodes' ${remote} exported MACs`);
    }
    return pending;
  }

  private context(): NodeContext {
    return { layout: this.layout, cp: this.cp, netnsPrefix: this.record.netnsPrefix, cli: this.record.cli, apiserverPort: this.record.apiserverPort };
  }

  /** Starts whatever of the lab is not running (everything, the first time). */
  private async build(say: (line: string) => void): Promise<void> {
    const layout = this.layout;
    const [cmd, ...pre] = this.record.cli;
    if (!cmd) throw new Error('lab.json: empty cli');

    if (!Daemon.fromPidFile('relay', join(layout.dir, 'relay.pid'), join(layout.dir, 'relay.log'), hostRelayMarks(layout))) {
      say('starting the apiserver relay (the agents reach the apiserver through it from their namespaces)');
      const relay = Daemon.spawn({
        name: 'relay',
        command: cmd,
        args: [...pre, 'lab', 'relay', '--listen', `unix:${layout.apiserverRelaySocket}`, '--connect', `tcp:127.0.0.1:${this.record.apiserverPort}`],
        logFile: join(layout.dir, 'relay.log'),
        pidFile: join(layout.dir, 'relay.pid'),
        cwd: layout.dir,
        lifetime: 'detached',
      });
      await waitForFile(layout.apiserverRelaySocket, 'the apiserver relay socket', relay);
    }
    // The chart's agent RBAC and admission policy: an agent writes only its own node's status.
    await this.cp.kubectlInput(agentSecurityManifests(), 'apply', '-f', '-');

    let fabric = OvsInstance.attach(layout.fabricDir);
    if (!fabric.daemonList().every((d) => d.running) || fabric.daemonList().length < 2) {
      say('starting the fabric switch (ovs-vswitchd, br-fabric learning switch)');
      await fabric.stop();
      mkdirSync(layout.fabricDir, { recursive: true });
      fabric = await OvsInstance.launch(layout.fabricDir, { lifetime: 'detached' });
      await createFabricSwitch(fabric);
    }
    const ports = (await fabric.vsctl('list-ports', FABRIC_BRIDGE)).stdout.split('\n');
    for (const node of this.nodes) {
      if (!ports.includes(`to-${node}`)) await addFabricPort(fabric, node, layout.fabricSocket(node));
    }

    const control = await ensureControlNetwork(controlNetnsName(this.record.netnsPrefix));
    const ctx = this.context();
    for (const node of this.nodes) {
      mkdirSync(layout.nodeDir(node), { recursive: true });
      await ensureNodeObject(this.cp, node);
      const ns = await ensureNodeNamespace(this.netns(node), node, control);
      let ovs = OvsInstance.attach(layout.nodeOvsDir(node));
      if (ovs.daemonList().length < 2 || !ovs.daemonList().every((d) => d.running)) {
        say(`${node}: network namespace ${ns.name}, Open vSwitch (br-evpn, br-underlay ${underlayAddress(node)} → fabric)`);
        await ovs.stop();
        ovs = await createNodeOvs(layout, node);
      } else if (await repairNodeOvs(ovs, node)) {
        say(`${node}: restored the underlay address and route in ovs-vswitchd`);
      }
      if (!findNodeDaemon(layout, node, 'relay')) startNodeRelay(ctx, ns, node);
      if (!findNodeDaemon(layout, node, 'agent')) {
        say(`${node}: starting the agent`);
        startAgent(ctx, ns, node, await agentKubeconfig(ctx, node));
      }
      await this.startEvpn(node, say);
    }

    if (!Daemon.fromPidFile('operator', join(layout.operatorDir, 'operator.pid'), join(layout.operatorDir, 'operator.log'), operatorMarks(layout))) {
      say('starting the operator');
      mkdirSync(layout.operatorDir, { recursive: true });
      Daemon.spawn({
        name: 'operator',
        command: cmd,
        args: [
          ...pre, 'operator',
          '--kubeconfig', join(layout.controlPlaneDir, 'admin.kubeconfig'),
          '--health-addr', `127.0.0.1:${this.record.operatorHealthPort}`,
          '--metrics-addr', `127.0.0.1:${this.record.operatorMetricsPort}`,
          // Where the agents keep their heartbeat Leases.
          '--heartbeat-namespace', AGENT_NAMESPACE,
        ],
        logFile: join(layout.operatorDir, 'operator.log'),
        pidFile: join(layout.operatorDir, 'operator.pid'),
        cwd: layout.operatorDir,
        lifetime: 'detached',
      });
    }
  }

  /**
   * Starts whatever of the node's EVPN control plane is not running: FRR
   * (zebra and bgpd, restarted together when either died) and, on the nodes
   * that host the multihomed service, gobgpd with the service's routes.
   */
  async startEvpn(node: string, say: (line: string) => void = () => undefined): Promise<void> {
    const ns = NetworkNamespace.existing(this.netns(node));
    if (!ns) throw new Error(`${node}: network namespace ${this.netns(node)} is missing; run \`evpn-ecmp lab up\``);
    if (!FRR_DAEMONS.every((d) => findFrrDaemon(this.layout, node, d))) {
      await stopFrr(this.layout, node);
      say(`${node}: starting FRR (zebra, bgpd: EVPN with every node${hostsMultihomedService(node) ? '' : ', and the multihomed service\'s GoBGP speakers'})`);
      await startFrr(this.layout, ns, node, this.nodes);
    }
    if (hostsMultihomedService(node) && !findGobgpd(this.layout, node)) {
      say(`${node}: starting gobgpd (announces ${MULTIHOMED_SERVICE.mac} behind ESI ${MULTIHOMED_SERVICE.esi})`);
      await startGobgpd(this.layout, ns, node, this.nodes);
    }
  }

  /** Stops the node's BGP speakers (gobgpd, bgpd, zebra) by pid; returns what it stopped. */
  async stopEvpn(node: string): Promise<string[]> {
    const stopped: string[] = [];
    const gobgpd = findGobgpd(this.layout, node);
    if (gobgpd?.running) {
      await gobgpd.stop(5_000);
      stopped.push(`${gobgpd.name} (pid ${gobgpd.pid})`);
    }
    return [...stopped, ...(await stopFrr(this.layout, node))];
  }

  /**
   * Creates the sample objects that do not exist. Never `apply`: on a lab
   * that runs, the user may have edited or deleted them on purpose.
   */
  private async createSamples(): Promise<void> {
    try {
      await this.cp.kubectl('create', '-f', EXAMPLES_DIR);
    } catch (err) {
      const stderr = (err as CommandError).stderr ?? '';
      const lines = stderr.split('\n').filter((l) => l.trim() !== '');
      // kubectl creates what it can and names each object that exists already.
      if (lines.length === 0 || !lines.every((l) => /AlreadyExists|already exists/.test(l))) throw err;
    }
  }

  /** Every process of the lab with its state. */
  async processes(): Promise<ProcessHealth[]> {
    const layout = this.layout;
    const out: ProcessHealth[] = [];
    const add = (name: string, d: Daemon | undefined, logFile: string, detail = '') =>
      out.push({ name, pid: d?.pid, running: d?.running ?? false, detail: d?.running ? detail : 'not running', logFile });
    for (const d of ['etcd', 'kube-apiserver', 'kube-controller-manager']) {
      add(d, this.cp.daemonList().find((x) => x.name === d), join(layout.controlPlaneDir, `${d}.log`));
    }
    const relay = Daemon.fromPidFile('relay', join(layout.dir, 'relay.pid'), join(layout.dir, 'relay.log'), hostRelayMarks(layout));
    add('apiserver relay', relay, join(layout.dir, 'relay.log'));
    const opLog = join(layout.operatorDir, 'operator.log');
    const op = Daemon.fromPidFile('operator', join(layout.operatorDir, 'operator.pid'), opLog, operatorMarks(layout));
    add('operator', op, opLog, op?.running ? await httpReady(`http://127.0.0.1:${this.record.operatorHealthPort}/readyz`) : '');
    const fabric = this.fabricOvs();
    for (const d of ['ovsdb-server', 'ovs-vswitchd']) add(`fabric/${d}`, fabric.daemonList().find((x) => x.name === d), join(layout.fabricDir, `${d}.log`));
    let conv: Convergence | undefined;
    let nodeObjects: Set<string> | undefined;
    try {
      conv = await readConvergence(this.cp, this.nodes);
      const { stdout } = await this.cp.kubectl('get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}');
      nodeObjects = new Set(stdout.split(/\s+/).filter(Boolean));
    } catch {
      conv = undefined;
    }
    for (const node of this.nodes) {
      const ovs = this.nodeOvs(node);
      for (const d of ['ovsdb-server', 'ovs-vswitchd']) add(`${node}/${d}`, ovs.daemonList().find((x) => x.name === d), join(layout.nodeOvsDir(node), `${d}.log`));
      add(`${node}/relay`, findNodeDaemon(layout, node, 'relay'), join(layout.nodeDir(node), 'relay.log'));
      const agentDetail =
        conv === undefined
          ? 'cluster unreadable'
          : nodeObjects && !nodeObjects.has(node)
            ? `Node ${node} was deleted: no VtepNodeState, the agent has nothing to apply`
            : conv.nodesReady.includes(node)
              ? 'Ready'
              : `not ready: ${conv.nodesPending[node] ?? '?'}`;
      add(`${node}/agent`, findNodeDaemon(layout, node, 'agent'), join(layout.nodeDir(node), 'agent.log'), agentDetail);
      const zebra = findFrrDaemon(layout, node, 'zebra');
      add(`${node}/zebra`, zebra, frrPaths(layout, node).logFile('zebra'), zebra?.running ? await describe(() => zebraDetail(layout, node)) : '');
      const bgpd = findFrrDaemon(layout, node, 'bgpd');
      add(`${node}/bgpd`, bgpd, frrPaths(layout, node).logFile('bgpd'), bgpd?.running ? await describe(() => bgpdDetail(layout, node)) : '');
      if (hostsMultihomedService(node)) {
        const gobgpd = findGobgpd(layout, node);
        add(`${node}/gobgpd`, gobgpd, gobgpPaths(layout, node).logFile, gobgpd?.running ? await describe(() => gobgpdDetail(layout, node)) : '');
      }
    }
    return out;
  }

  /** A line naming a lab process that died, for convergence waits; undefined when all run. */
  deadProcess(): string | undefined {
    for (const node of this.nodes) {
      const agent = findNodeDaemon(this.layout, node, 'agent');
      if (!agent) {
        const log = join(this.layout.nodeDir(node), 'agent.log');
        return `the agent of ${node} is not running; last lines of ${log}:\n${tail(log)}`;
      }
      for (const d of FRR_DAEMONS) {
        if (findFrrDaemon(this.layout, node, d)) continue;
        const log = frrPaths(this.layout, node).logFile(d);
        return `${d} of ${node} is not running; last lines of ${log}:\n${tail(log)}`;
      }
      if (hostsMultihomedService(node) && !findGobgpd(this.layout, node)) {
        const log = gobgpPaths(this.layout, node).logFile;
        return `gobgpd of ${node} is not running; last lines of ${log}:\n${tail(log)}`;
      }
    }
    const opLog = join(this.layout.operatorDir, 'operator.log');
    if (!Daemon.fromPidFile('operator', join(this.layout.operatorDir, 'operator.pid'), opLog, operatorMarks(this.layout))) {
      return `the operator is not running; last lines of ${opLog}:\n${tail(opLog)}`;
    }
    return undefined;
  }

  /**
   * `kubectl get vns`, `kubectl get vg`, and the per-node view of what came
   * from EVPN (learned entries) and what is local (switched here, exported
   * for FRR), as printed by kubectl.
   */
  async tables(): Promise<string> {
    const vns = await this.cp.kubectl('get', 'vns');
    const vg = await this.cp.kubectl('get', 'vg');
    const evpn = await this.cp.kubectl('get', 'vns', '-o', `custom-columns=${EVPN_COLUMNS}`);
    return `$ kubectl get vns\n${vns.stdout}\n$ kubectl get vg\n${vg.stdout}\n$ kubectl get vns -o custom-columns=${EVPN_COLUMNS}\n${evpn.stdout}`;
  }

  /**
   * Stops every process of the lab in `dir` by pid, deletes its network
   * namespaces and removes the directory. Returns what it removed. A
   * directory without lab.json is left alone (it is not a lab).
   */
  static async down(dir: string, say: (line: string) => void = () => undefined): Promise<string[]> {
    const layout = new LabLayout(dir);
    let record: LabRecord | undefined;
    try {
      record = layout.read();
    } catch (err) {
      // A damaged lab.json must not make the lab impossible to remove: stop
      // whatever runs from the directory and remove it; namespaces, whose
      // names lab.json held, are left for `ip netns delete`.
      say(`${(err as Error).message}; removing what runs from ${dir} without it`);
      const removed: string[] = [];
      for (const pid of pidsUsing(layout.dir)) {
        await stopPid(pid, 3_000);
        removed.push(`process ${pid}`);
      }
      removeRunDir(layout.runDir);
      rmSync(dir, { recursive: true, force: true });
      removed.push(`directory ${dir}`);
      return removed;
    }
    if (!record) return [];
    const removed: string[] = [];
    const stop = async (d: Daemon | undefined, owner = '') => {
      if (!d?.running) return;
      await d.stop(5_000);
      removed.push(`${owner}${d.name} (pid ${d.pid})`);
    };
    // Dependants first: agents and operator, then what they talk to.
    for (const node of record.nodes) await stop(findNodeDaemon(layout, node, 'agent'));
    for (const node of record.nodes) {
      await stop(findGobgpd(layout, node));
      for (const d of [...FRR_DAEMONS].reverse()) await stop(findFrrDaemon(layout, node, d));
    }
    await stop(Daemon.fromPidFile('operator', join(layout.operatorDir, 'operator.pid'), join(layout.operatorDir, 'operator.log'), operatorMarks(layout)));
    for (const node of record.nodes) {
      await stop(findNodeDaemon(layout, node, 'relay'));
      for (const d of OvsInstance.attach(layout.nodeOvsDir(node)).daemonList()) await stop(d, `${node}/`);
    }
    for (const d of OvsInstance.attach(layout.fabricDir).daemonList()) await stop(d, 'fabric/');
    await stop(Daemon.fromPidFile('apiserver relay', join(layout.dir, 'relay.pid'), join(layout.dir, 'relay.log'), hostRelayMarks(layout)));
    const cp = ControlPlane.attach(layout.controlPlaneDir);
    for (const d of (cp?.daemonList() ?? []).reverse()) await stop(d);
    // Anything else still running from the lab directory was started by the
    // lab too (a pid file lost in a crash): stop it by pid all the same.
    // (FRR's command lines name the lab directory too: layout.runDir repeats it.)
    for (const pid of pidsUsing(layout.dir)) {
      await stopPid(pid, 3_000);
      removed.push(`stray process ${pid}`);
    }
    for (const name of [...record.nodes.map((n) => netnsName(record.netnsPrefix, n)), controlNetnsName(record.netnsPrefix)]) {
      const ns = NetworkNamespace.existing(name);
      if (ns) {
        await ns.destroy();
        removed.push(`network namespace ${ns.name}`);
      }
    }
    if (existsSync(layout.runDir)) {
      removeRunDir(layout.runDir);
      removed.push(`directory ${layout.runDir}`);
    }
    rmSync(dir, { recursive: true, force: true });
    removed.push(`directory ${dir}`);
    return removed;
  }
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Removes a lab's runtime directory and the parents it leaves empty, up to RUN_ROOT. */
function removeRunDir(runDir: string): void {
  rmSync(runDir, { recursive: true, force: true });
  for (let d = dirname(runDir); d.startsWith(RUN_ROOT); d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty: another lab's
    }
    if (d === RUN_ROOT) return;
  }
}

/** A process's detail line, or why it could not be read. */
async function describe(read: () => Promise<string>): Promise<string> {
  try {
    return await read();
  } catch (err) {
    return `unreadable: ${(err as Error).message.split('\n')[0]}`;
  }
}

async function httpReady(url: string): Promise<string> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return r.ok ? 'ready' : `not ready (HTTP ${r.status})`;
  } catch (err) {
    return `health endpoint unreachable (${(err as Error).message})`;
  }
}
