/**
 * Watches one OpenFlow table of a bridge from outside the agent: `ovs-ofctl
 * monitor ... watch:` (an OpenFlow flow monitor, OFPMP_FLOW_MONITOR), which
 * Open vSwitch answers with an event for every flow added to or deleted
 * from the table, sent once the change is in its tables (for a bundle: on
 * commit). B5 takes the time each MAC's flow appeared or went as the end of
 * that MAC's way from the kernel to OVS, so the figure does not depend on
 * the agent's own account of it.
 *
 * ovs-ofctl writes to a file, not a pipe, and stamps each message with the
 * time it received it (`--timestamp`, wall clock to the millisecond, UTC):
 * read through a pipe, a benchmark process busy for a moment stops
 * ovs-ofctl, whose unread backlog makes Open vSwitch pause the monitor
 * (NXT_FLOW_MONITOR_PAUSED) and drop the deletions made meanwhile — seen
 * as a sixth of B5's changes missing on a loaded machine. `paused` counts
 * pauses anyway; what was not seen is reported as not seen.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const STAMP = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}): /;

export class FlowMonitor {
  /** MAC → when its flow was added / deleted (performance.now() scale, ms; the first time). */
  readonly added = new Map<string, number>();
  readonly deleted = new Map<string, number>();
  paused = 0;
  private readonly child: ChildProcess;
  private readonly dir: string;
  private readonly fd: number;
  private partial = '';
  private stampedAt = 0;
  private replied = false;

  constructor(mgmtSocket: string, table: number, env: NodeJS.ProcessEnv = process.env) {
    this.dir = mkdtempSync(join(tmpdir(), 'bench-flow-monitor-'));
    const file = join(this.dir, 'events');
    const out = openSync(file, 'w');
    this.child = spawn('ovs-ofctl', ['-O', 'OpenFlow15', '--timestamp', 'monitor', `unix:${mgmtSocket}`, `watch:!initial,!actions,table=${table}`], { env, stdio: ['ignore', out, out] });
    closeSync(out);
    this.fd = openSync(file, 'r');
  }

  /** Resolves once Open vSwitch answered the monitor request (events from then on are seen). */
  async started(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.replied) {
      this.collect();
      if (this.replied) return;
      if (Date.now() > deadline) throw new Error('ovs-ofctl monitor did not start');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Reads what ovs-ofctl wrote since the last call into `added`, `deleted` and `paused`. */
  collect(): void {
    const chunk = Buffer.alloc(1 << 20);
    for (;;) {
      const n = readSync(this.fd, chunk, 0, chunk.length, null);
      if (n <= 0) break;
      this.parse(chunk.toString('utf8', 0, n));
    }
  }

  private parse(chunk: string): void {
    const text = this.partial + chunk;
    const end = text.lastIndexOf('\n');
    this.partial = text.slice(end + 1);
    if (end < 0) return;
    for (const line of text.slice(0, end).split('\n')) {
      if (line.includes('FLOW_MONITOR reply')) this.replied = true;
      const stamp = STAMP.exec(line);
      // Wall clock (UTC) to this process's performance.now() scale.
      if (stamp) this.stampedAt = Date.parse(`${stamp[1]}T${stamp[2]}Z`) - performance.timeOrigin;
      if (/FLOW_MONITOR_PAUSED|event=PAUSED/.test(line)) {
        this.paused += 1;
        continue;
      }
      const event = /event=(ADDED|DELETED)/.exec(line)?.[1];
      if (event === undefined) continue;
      const mac = /dl_dst=([0-9a-f:]{17})/.exec(line)?.[1];
      if (mac === undefined) continue;
      const seen = event === 'ADDED' ? this.added : this.deleted;
      if (!seen.has(mac)) seen.set(mac, this.stampedAt);
    }
  }

  stop(): void {
    this.child.kill();
    closeSync(this.fd);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
