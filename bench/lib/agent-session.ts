/**
 * One standalone agent (`evpn-ecmp agent --state-file ... --status-file ...`)
 * driven by a benchmark: the VtepNodeState it reads, its status file, its
 * /metrics. The bench process already runs in its own network namespace, so
 * the agent is a plain child process.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CliDaemon, until } from './daemon.js';
import { metricSum, scrape } from './prom.js';

export interface SessionGroup {
  name: string;
  generation?: number;
  vni: number;
  vteps: Array<{ ip: string; weight: number }>;
  macs: string[];
}

export interface SessionSpec {
  localVtepIP?: string;
  deviceTemplate: string;
  kernel: { manage: boolean; mirrorLearned: boolean };
  selectionMethod?: 'dp_hash' | 'hash';
  /** dp_hash groups as hash slots (the fabric's default) or one weighted bucket per VTEP. */
  bucketLayout?: 'slots' | 'weights';
  groups: SessionGroup[];
}

interface Status {
  observedGeneration?: number;
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  learned?: { ecmp: number; singlePath: number };
}

export class AgentSession {
  readonly dir = mkdtempSync(join(tmpdir(), 'evpn-bench-agent-'));
  readonly stateFile = join(this.dir, 'state.yaml');
  readonly statusFile = join(this.dir, 'status.json');
  agent: CliDaemon | undefined;
  generation = 0;

  constructor(readonly ovsRundir: string, readonly metricsPort = 19080) {}

  get metricsUrl(): string {
    return `http://127.0.0.1:${this.metricsPort}/metrics`;
  }

  /** Writes the state atomically (rename), as an operator's tooling would; returns its generation. */
  writeState(spec: SessionSpec): number {
    this.generation += 1;
    const object = {
      apiVersion: 'evpn.ecmp.dev/v1alpha1',
      kind: 'VtepNodeState',
      metadata: { name: 'bench-node', generation: this.generation },
      spec: {
        fabric: 'default',
        localVtepIP: spec.localVtepIP ?? '192.0.2.1',
        vxlan: { port: 4789, deviceTemplate: spec.deviceTemplate },
        ovs: { bridge: 'br-evpn', tunnelPort: 'evpn-vxlan', selectionMethod: spec.selectionMethod ?? 'dp_hash', bucketLayout: spec.bucketLayout ?? 'slots' },
        kernel: spec.kernel,
        groups: spec.groups.map((g) => ({ generation: 1, ...g })),
      },
    };
    writeFileSync(`${this.stateFile}.tmp`, stringify(object));
    renameSync(`${this.stateFile}.tmp`, this.stateFile);
    return this.generation;
  }

  /**
   * Launches the agent. BENCH_AGENT_NODE_ARGS, when set, are node's own
   * options for the agent process only, split at spaces (e.g. `--cpu-prof
   * --cpu-prof-dir=/tmp/prof` to profile it under a benchmark's load).
   */
  start(extra: readonly string[] = []): CliDaemon {
    rmSync(this.statusFile, { force: true });
    const nodeArgs = (process.env['BENCH_AGENT_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
    this.agent = CliDaemon.start([
      'agent', '--node', 'bench-node',
      '--state-file', this.stateFile,
      '--status-file', this.statusFile,
      '--ovs-rundir', this.ovsRundir,
      '--metrics-addr', `127.0.0.1:${this.metricsPort}`,
      '--health-addr', `127.0.0.1:${this.metricsPort + 1}`,
      ...extra,
    ], process.env, nodeArgs);
    return this.agent;
  }

  async stop(): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    await agent?.stop();
  }

  status(): Status | undefined {
    if (!existsSync(this.statusFile)) return undefined;
    try {
      return JSON.parse(readFileSync(this.statusFile, 'utf8')) as Status;
    } catch {
      return undefined; // being replaced
    }
  }

  /** Waits for Ready=True (at `generation` when given). */
  async waitReady(timeoutMs: number, generation?: number, intervalMs = 10): Promise<Status> {
    try {
      return await until('agent Ready', () => {
        if (this.agent && !this.agent.running) throw new Error(`agent exited (${this.agent.child.exitCode})`);
        const s = this.status();
        const ready = s?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
        return ready && (generation === undefined || s?.observedGeneration === generation) ? s : undefined;
      }, timeoutMs, intervalMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nstatus: ${JSON.stringify(this.status())}\nagent log:\n${this.agent?.tail() ?? ''}`);
    }
  }

  metrics(): Promise<string> {
    return scrape(this.metricsUrl);
  }

  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return metricSum(await this.metrics(), name, labels);
  }

  dispose(): void {
    this.agent?.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
