/**
 * Witnesses for the control-plane tests, each from the tool that owns the
 * fact: `ip -ts monitor` for every kernel nexthop/neighbour change in a
 * namespace, ovs-vswitchd's own vconn debug log for every OpenFlow message
 * the agent sent (group and flow mods, bundle commits, with ms timestamps),
 * and zebra's log for what zebra wrote.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { OvsInstance } from '../../../src/lab/ovs-instance.js';
import { registerCleanup } from '../../harness/cleanup.js';

export interface Timed {
  /** ms since the epoch */
  at: number;
  text: string;
}

/** `ip -n NS -ts monitor nexthop neigh`, collected while it runs. */
export class KernelMonitor {
  readonly events: Timed[] = [];
  private buffer = '';
  private readonly unregister: () => void;

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        // [2026-12-07T15:17:22.465515] <event>   (local time, µs)
        const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\]\s*(.*)$/.exec(line);
        if (m) this.events.push({ at: new Date(m[1]!.slice(0, 23)).getTime(), text: m[2]! });
      }
    });
    this.unregister = registerCleanup(() => child.kill('SIGKILL'));
  }

  static async start(netns: string): Promise<KernelMonitor> {
    const m = new KernelMonitor(spawn('ip', ['-n', netns, '-ts', 'monitor', 'nexthop', 'neigh'], { stdio: ['ignore', 'pipe', 'ignore'] }));
    // ip subscribes right after start; give it that moment.
    await new Promise((r) => setTimeout(r, 200));
    return m;
  }

  since(at: number): Timed[] {
    return this.events.filter((e) => e.at >= at);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const done = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await done;
    }
    this.unregister();
  }
}

/** One OpenFlow message as ovs-vswitchd logged it on receipt. */
export interface OfMessage extends Timed {
  /** e.g. OFPT_GROUP_MOD, OFPT_FLOW_MOD, OFPT_BUNDLE_CONTROL */
  type: string;
}

/**
 * ovs-vswitchd's record of the OpenFlow messages it receives: `vconn` at
 * debug level in its log file, read from a mark on. A bundled message is
 * logged inside its OFPT_BUNDLE_ADD_MESSAGE, with the bundle's timestamp;
 * the bundle takes effect at its COMMIT_REQUEST.
 */
export class OvsMessageLog {
  private constructor(
    private readonly file: string,
    private offset: number,
  ) {}

  static async start(ovs: OvsInstance): Promise<OvsMessageLog> {
    await ovs.appctl('vlog/set', 'vconn:file:dbg');
    const file = join(ovs.dir, 'ovs-vswitchd.log');
    return new OvsMessageLog(file, statSync(file).size);
  }

  /** Forget what was logged so far. */
  mark(): void {
    this.offset = statSync(this.file).size;
  }

  /** Messages received since the mark, inner messages of bundles included. */
  received(): OfMessage[] {
    const text = readFileSync(this.file).subarray(this.offset).toString('utf8');
    const out: OfMessage[] = [];
    let at = 0;
    let inReceived = false;
    for (const line of text.split('\n')) {
      const head = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z)\|\d+\|([a-z_]+)\|[A-Z]+\|(.*)$/.exec(line);
      if (head) {
        at = new Date(head[1]!).getTime();
        inReceived = head[2] === 'vconn' && / received: /.test(head[3]!);
        const t = / received: (OFP[A-Z_]+)/.exec(head[3]!);
        if (t) out.push({ at, type: t[1]!, text: head[3]! });
        continue;
      }
      if (!inReceived) continue;
      const inner = /^(OFP[A-Z_]+) /.exec(line);
      if (inner) out.push({ at, type: inner[1]!, text: line });
      else if (out.length) out[out.length - 1]!.text += `\n${line}`;
    }
    return out;
  }

  async stop(ovs: OvsInstance): Promise<void> {
    await ovs.appctl('vlog/set', 'vconn:file:info');
  }
}

/** Group mods of one group id (command: ADD, MOD, DEL, …) among `messages`. */
export function groupMods(messages: readonly OfMessage[], groupId: number): { command: string; at: number; text: string }[] {
  return messages
    .filter((m) => m.type === 'OFPT_GROUP_MOD')
    .map((m) => ({ m, g: /\n\s*(ADD|MOD|DEL|ADD_OR_MOD|INSERT_BUCKET|REMOVE_BUCKET) group_id=(\d+)/.exec(m.text) }))
    .filter((x) => x.g && Number(x.g[2]) === groupId)
    .map((x) => ({ command: x.g![1]!, at: x.m.at, text: x.m.text }));
}

/** Flow mods whose match names `mac`. */
export function flowModsFor(messages: readonly OfMessage[], mac: string): OfMessage[] {
  return messages.filter((m) => m.type === 'OFPT_FLOW_MOD' && m.text.includes(`dl_dst=${mac}`));
}

/** Lines of zebra's log (`log timestamp precision 3`) since `at`, with their time. */
export function zebraLog(file: string, since: number): Timed[] {
  const out: Timed[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    // 2026/12/07 15:17:22.465 ZEBRA: [KWJ55-CHAKX] text   (local time, ms)
    const m = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3}) ZEBRA: (?:\[[^\]]+\] )?(.*)$/.exec(line);
    if (!m) continue;
    const [, y, mo, d, h, mi, s, ms, text] = m;
    const at = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(ms)).getTime();
    if (at >= since) out.push({ at, text: text! });
  }
  return out;
}
