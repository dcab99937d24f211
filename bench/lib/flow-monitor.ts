/**
 * Watches one OpenFlow table of a bridge from outside the agent: `ovs-ofctl
 * monitor ... watch:` (an OpenFlow flow monitor, OFPMP_FLOW_MONITOR), which
 * Open vSwitch answers with an event for every flow added to or deleted
 * from the table, sent once the change is in its tables (for a bundle: on
 * commit). B5 takes the time each MAC's flow appeared or went as the end of
 * that MAC's way from the kernel to OVS, so the figure does not depend on
 * the agent's own account of it.
 *
 * If the monitor falls behind, Open vSwitch pauses it (OFPFME_PAUSED) and
 * later reports only the flows that exist, not the deletions in between:
 * `paused` counts that, and what was not seen is reported as not seen.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export class FlowMonitor {
  /** MAC → when its flow was added / deleted (performance.now(), ms; the first time). */
  readonly added = new Map<string, number>();
  readonly deleted = new Map<string, number>();
  paused = 0;
  private readonly child: ChildProcess;
  private partial = { out: '', err: '' };
  private ready: Promise<void>;

  constructor(mgmtSocket: string, table: number, env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn('ovs-ofctl', ['-O', 'OpenFlow15', 'monitor', `unix:${mgmtSocket}`, `watch:!initial,!actions,table=${table}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let started: () => void;
    this.ready = new Promise((r) => (started = r));
    // ovs-ofctl prints the reply to the monitor request on stdout and the events that follow on stderr.
    for (const stream of ['out', 'err'] as const) {
      const s = stream === 'out' ? this.child.stdout! : this.child.stderr!;
      s.setEncoding('utf8');
      s.on('data', (chunk: string) => {
        started();
        this.parse(stream, chunk, performance.now());
      });
    }
  }

  /** Resolves once Open vSwitch answered the monitor request (events from then on are seen). */
  async started(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.ready,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('ovs-ofctl monitor did not start')), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
  }

  private parse(stream: 'out' | 'err', chunk: string, at: number): void {
    const text = this.partial[stream] + chunk;
    const end = text.lastIndexOf('\n');
    this.partial[stream] = text.slice(end + 1);
    if (end < 0) return;
    for (const line of text.slice(0, end).split('\n')) {
      const event = /event=(ADDED|DELETED|PAUSED)/.exec(line)?.[1];
      if (event === 'PAUSED') {
        this.paused += 1;
        continue;
      }
      if (event === undefined) continue;
      const mac = /dl_dst=([0-9a-f:]{17})/.exec(line)?.[1];
      if (mac === undefined) continue;
      const seen = event === 'ADDED' ? this.added : this.deleted;
      if (!seen.has(mac)) seen.set(mac, at);
    }
  }

  stop(): void {
    this.child.kill();
  }
}
