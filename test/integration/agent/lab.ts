/**
 * One simulated node for agent tests: a private network namespace (the
 * kernel side), an OVS sandbox with br-evpn and an underlay bridge whose
 * NIC records VXLAN frames, a state file, and the agent running as a
 * process inside the namespace in standalone mode.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Netns, stopChild } from '../../harness/netns.js';
import { OvsSandbox } from '../../harness/ovs.js';
import { Underlay } from '../../harness/underlay.js';
import { registerCleanup } from '../../harness/cleanup.js';

const ENTRY = new URL('./run-cli.ts', import.meta.url).pathname;

export interface LabGroup {
  name: string;
  generation?: number;
  vni: number;
  vteps: Array<{ ip: string; weight?: number }>;
  macs: string[];
}

export interface LabOptions {
  local?: string;
  /** Remote VTEPs reachable on the underlay (neighbour entries). */
  vteps: string[];
  vnis?: number[];
  /**
   * 'test' (default): the test makes a VXLAN device per VNI before the agent
   * starts, as another owner would (the agent uses it as it is); 'agent':
   * none, the agent creates its own.
   */
  devices?: 'test' | 'agent';
  kernel?: { manage?: boolean; mirrorLearned?: boolean; exportLocalMacs?: boolean };
  /** Extra agent flags. */
  agentArgs?: string[];
  /** Extra environment of the agent process. */
  agentEnv?: Record<string, string>;
  /** The node binary that runs the agent (default: this process's). */
  nodeBinary?: string;
}

export interface StateOverrides {
  vxlan?: Record<string, unknown>;
  kernel?: Record<string, unknown>;
  ovs?: Record<string, unknown>;
}

export interface Status {
  observedGeneration?: number;
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  groups?: Array<{ name: string; state: string; nexthopGroupId?: number; ofGroupId?: number; paths?: Array<{ vtep: string; weight: number }>; macs?: number; message?: string; appliedGeneration?: number }>;
  learned?: { ecmp: number; singlePath: number; invalid?: Record<string, number> };
  flood?: Array<{ vni: number; vteps: number; ofGroupId?: number }>;
  local?: Array<{ vni: number; ports: number; macs: number; exported?: number }>;
  summary?: { groups: number; paths: number; macs: number; invalid: number };
  lastSyncTime?: string;
}

export function vtepMac(ip: string): string {
  const n = ip.split(/[.:]/).filter(Boolean).map((x) => parseInt(x, ip.includes(':') ? 16 : 10) & 0xff);
  const last = n[n.length - 1] ?? 0;
  const prev = n[n.length - 2] ?? 0;
  return `aa:55:00:00:${prev.toString(16).padStart(2, '0')}:${last.toString(16).padStart(2, '0')}`;
}

export class AgentLab {
  ns!: Netns;
  ovs!: OvsSandbox;
  underlay!: Underlay;
  agent: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'evpn-agent-'));
  readonly stateFile = join(this.dir, 'state.yaml');
  readonly statusFile = join(this.dir, 'status.json');
  readonly logLines: string[] = [];
  ports = new Map<number, number>();
  private generation = 0;
  private unregister = registerCleanup(() => rmSync(this.dir, { recursive: true, force: true }));

  constructor(readonly opts: LabOptions) {}

  get v6(): boolean {
    return (this.opts.local ?? '192.0.2.1').includes(':');
  }

  async setup(): Promise<void> {
    const local = this.opts.local ?? '192.0.2.1';
    this.ns = await Netns.create();
    if (this.opts.devices !== 'agent') for (const vni of this.opts.vnis ?? [100]) await this.ns.addVxlan(`evpn-${vni}`, vni, { local });
    this.ovs = await OvsSandbox.start();
    this.underlay = await Underlay.create(this.ovs, {
      localAddress: this.v6 ? `${local}/64` : `${local}/24`,
      neighbors: this.opts.vteps.map((ip) => ({ ip, mac: vtepMac(ip) })),
    });
    await this.ovs.addBridge('br-evpn');
    for (const vni of this.opts.vnis ?? [100]) {
      this.ports.set(vni, await this.ovs.addDummyPort('br-evpn', `p${vni}`, { externalIds: { 'evpn-vni': String(vni) } }));
    }
  }

  stateObject(groups: LabGroup[], over: StateOverrides = {}): unknown {
    this.generation += 1;
    return {
      apiVersion: 'evpn.ecmp.dev/v1alpha1',
      kind: 'VtepNodeState',
      metadata: { name: 'node-a', generation: this.generation },
      spec: {
        fabric: 'default',
        localVtepIP: this.opts.local ?? '192.0.2.1',
        vxlan: { port: 4789, deviceTemplate: 'evpn-{vni}', ...over.vxlan },
        ovs: { bridge: 'br-evpn', tunnelPort: 'evpn-vxlan', ...over.ovs },
        kernel: { ...this.opts.kernel, ...over.kernel },
        groups: groups.map((g) => ({ generation: 1, ...g, vteps: g.vteps.map((v) => ({ ip: v.ip, weight: v.weight ?? 1 })) })),
      },
    };
  }

  /** Writes the state file atomically (as an operator's tooling would). */
  writeState(groups: LabGroup[], over: StateOverrides = {}): void {
    this.writeRawState(stringify(this.stateObject(groups, over)));
  }

  writeRawState(text: string): void {
    const tmp = `${this.stateFile}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, this.stateFile);
  }

  startAgent(extra: string[] = []): ChildProcess {
    const child = this.ns.spawn(this.opts.nodeBinary ?? process.execPath, [
      '--import', 'tsx', ENTRY, 'agent',
      '--node', 'node-a',
      '--state-file', this.stateFile,
      '--status-file', this.statusFile,
      '--ovs-rundir', this.ovs.rundir,
      '--health-addr', '127.0.0.1:18081',
      '--metrics-addr', '127.0.0.1:18080',
      ...(this.opts.agentArgs ?? []),
      ...extra,
    ], this.opts.agentEnv ? { env: { ...process.env, ...this.opts.agentEnv } } : {});
    child.stderr?.setEncoding('utf8');
    let partial = '';
    child.stderr?.on('data', (chunk: string) => {
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      this.logLines.push(...lines);
    });
    child.stdout?.resume();
    this.agent = child;
    return child;
  }

  async stopAgent(): Promise<number | null> {
    const child = this.agent;
    if (!child) return null;
    this.agent = undefined;
    await stopChild(child);
    return child.exitCode;
  }

  status(): Status | undefined {
    if (!existsSync(this.statusFile)) return undefined;
    try {
      return JSON.parse(readFileSync(this.statusFile, 'utf8')) as Status;
    } catch {
      return undefined;
    }
  }

  condition(type: string) {
    return this.status()?.conditions?.find((c) => c.type === type);
  }

  /** Waits until the status satisfies `check`; the error shows the last status and the agent's log. */
  async waitStatus(what: string, check: (s: Status) => boolean, timeoutMs = 20_000): Promise<Status> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.status();
      if (s && check(s)) return s;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}\nstatus: ${JSON.stringify(s, null, 1)}\nagent log:\n${this.logLines.slice(-30).join('\n')}`);
      }
      if (this.agent && this.agent.exitCode !== null) throw new Error(`agent exited with ${this.agent.exitCode}\n${this.logLines.slice(-30).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async waitReady(generation?: number, timeoutMs?: number): Promise<Status> {
    return this.waitStatus(`Ready${generation ? ` at generation ${generation}` : ''}`, (s) =>
      s.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && (generation === undefined || s.observedGeneration === generation), timeoutMs);
  }

  get currentGeneration(): number {
    return this.generation;
  }

  /** An HTTP request from inside the namespace (the agent listens on its loopback), made by node itself. */
  async http(path: string, method = 'GET', port = 18081): Promise<{ code: number; body: string }> {
    const script = `const r = await fetch(${JSON.stringify(`http://127.0.0.1:${port}${path}`)}, { method: ${JSON.stringify(method)} });`
      + 'process.stdout.write(JSON.stringify({ code: r.status, body: await r.text() }));';
    const { stdout } = await this.ns.exec(process.execPath, '--input-type=module', '-e', script);
    return JSON.parse(stdout) as { code: number; body: string };
  }

  async metrics(): Promise<string> {
    return (await this.http('/metrics', 'GET', 18080)).body;
  }

  /** The ECMP (select) groups. */
  async dumpGroups(): Promise<string[]> {
    const { stdout } = await this.ovs.ofctl('dump-groups', 'br-evpn');
    return stdout.split('\n').filter((l) => l.includes('group_id=') && !l.includes('type=all'));
  }

  /** The flood (`all`) groups. */
  async dumpFloodGroups(): Promise<string[]> {
    const { stdout } = await this.ovs.ofctl('dump-groups', 'br-evpn');
    return stdout.split('\n').filter((l) => l.includes('group_id=') && l.includes('type=all'));
  }

  async dumpFlows(): Promise<string[]> {
    const { stdout } = await this.ovs.ofctl('dump-flows', 'br-evpn');
    return stdout.split('\n').filter((l) => l.includes('cookie='));
  }

  async teardown(): Promise<void> {
    await this.stopAgent().catch(() => undefined);
    await this.ns?.destroy().catch(() => undefined);
    await this.ovs?.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
    this.unregister();
  }
}

/** A flow's age in seconds from its `ovs-ofctl dump-flows` line (a re-added flow starts again at 0). */
export function flowDuration(line: string): number {
  return Number(/duration=([\d.]+)s/.exec(line)?.[1]);
}

export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const l = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return undefined;
}
