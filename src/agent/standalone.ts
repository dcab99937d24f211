/**
 * Standalone mode: the desired state comes from a YAML (or JSON) file holding
 * a VtepNodeState, the status goes to a JSON file holding its `status`.
 *
 * The state file is watched (stat polling survives editors that replace
 * the file by rename) and re-applied when its content changes; a file that
 * does not parse or validate is reported (log, status) with the path of the
 * bad field, and the previous good state keeps running.
 *
 * Bounded and whole:
 * - A file larger than `maxBytes` (default 8 MiB) is refused unread, with its
 *   size and the limit in the error: parsing YAML costs ~0.5 s and ~40 MiB of
 *   memory per MiB, on the thread that also answers /healthz (a 20 MiB file
 *   blocked it for ~25 s at 1.5 GB RSS). JSON (a file starting with `{`) is
 *   read ~100 times faster than YAML.
 * - Writers should replace the file atomically: write a temporary file in
 *   the same directory, then rename it over the state file; a replaced file
 *   (another inode) is read at once. A file changed in place is read only
 *   once it has been left alone for `settleMs` (default 500 ms). Either way
 *   a read is used only if the file did not change while it was read: a
 *   prefix of a VtepNodeState is often schema-valid (a shorter list of
 *   groups), so reading one half-written would withdraw state for a moment.
 *
 * The status file is rewritten atomically (temp file + rename in the same
 * directory), coalesced: at most one write in flight, the latest wins.
 */
import { createHash } from 'node:crypto';
import { open, rename, stat, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { checkVtepNodeState, type VtepNodeStateStatus } from '../api/index.js';
import type { Logger } from '../util/log.js';
import type { SpecTarget } from './kube/node-state-source.js';
import { nodeSpecFrom } from './spec.js';

export interface StateFileOptions {
  /** Largest state file read, in bytes (default 8 MiB). */
  maxBytes?: number;
  /** How often the file is stat()ed for changes (default 250 ms). */
  pollMs?: number;
  /** A change is read once the file has not changed for this long (default 500 ms). */
  settleMs?: number;
}

export const DEFAULT_STATE_FILE_MAX_BYTES = 8 * 1024 * 1024;

/** The file as one read saw it, or why it cannot be used now. */
type Snapshot = { kind: 'whole'; text: string } | { kind: 'changing' } | { kind: 'tooLarge'; size: number } | { kind: 'unreadable'; error: NodeJS.ErrnoException };

export class StateFileSource {
  private lastHash = '';
  private stopped = false;
  private settleTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  /** The file's stat as last seen (by a read or a poll); undefined while it does not exist. */
  private seen: Stats | undefined;
  private readonly maxBytes: number;
  private readonly pollMs: number;
  private readonly settleMs: number;

  constructor(
    private readonly path: string,
    private readonly node: string,
    private readonly agent: Pick<SpecTarget, 'setSpec' | 'rejectSpec'>,
    private readonly log: Logger,
    options: StateFileOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULT_STATE_FILE_MAX_BYTES;
    this.pollMs = options.pollMs ?? 250;
    this.settleMs = options.settleMs ?? 500;
  }

  /** Loads the file once (a bad first file is reported like any other) and starts watching it. */
  async start(): Promise<void> {
    await this.reload();
    // Polled against the stat of the last read, so a change right after
    // that read is seen (fs.watchFile takes its own first stat later).
    this.pollTimer = setInterval(() => void this.poll(), this.pollMs);
    this.pollTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.settleTimer);
    clearInterval(this.pollTimer);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      let now: Stats | undefined;
      try {
        now = await stat(this.path);
      } catch {
        now = undefined;
      }
      const seen = this.seen;
      this.seen = now;
      if (this.stopped || (now && seen && sameFile(now, seen)) || (!now && !seen)) return;
      // Another inode: the file was replaced by rename, so it is whole now.
      if (now && seen && now.ino !== seen.ino) void this.reload();
      else this.changed();
    } finally {
      this.polling = false;
    }
  }

  /** The file changed in place: read it once it has been left alone for settleMs. */
  private changed(): void {
    if (this.stopped) return;
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => void this.reload(), this.settleMs);
    this.settleTimer.unref();
  }

  async reload(): Promise<void> {
    clearTimeout(this.settleTimer);
    const snap = await this.read();
    if (this.stopped) return;
    switch (snap.kind) {
      case 'changing':
        // Changed while being read: try again once it settles.
        return this.changed();
      case 'unreadable':
        return this.reject(`cannot read state file ${this.path}: ${snap.error.message}`, `unreadable:${snap.error.code ?? ''}`);
      case 'tooLarge':
        return this.reject(
          `state file ${this.path} is ${snap.size} bytes, over the limit of ${this.maxBytes} (--state-file-max-bytes); the previous state stays applied`,
          `tooLarge:${snap.size}`,
        );
      case 'whole':
        return this.apply(snap.text);
    }
  }

  /** Reads the file only if it is within the size limit and does not change while it is read. */
  private async read(): Promise<Snapshot> {
    let fh;
    try {
      fh = await open(this.path, 'r');
    } catch (err) {
      return { kind: 'unreadable', error: err as NodeJS.ErrnoException };
    }
    try {
      const before = await fh.stat();
      this.seen = before;
      if (before.size > this.maxBytes) return { kind: 'tooLarge', size: before.size };
      // One byte more than the size: a file still growing is seen as changing.
      const buf = Buffer.alloc(before.size + 1);
      let length = 0;
      while (length < buf.length) {
        const { bytesRead } = await fh.read(buf, length, buf.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      let after: Stats;
      try {
        // By path: a rename over the file during the read shows as another inode.
        after = await stat(this.path);
      } catch {
        return { kind: 'changing' };
      }
      this.seen = after;
      if (length !== before.size || !sameFile(before, after)) return { kind: 'changing' };
      return { kind: 'whole', text: buf.toString('utf8', 0, length) };
    } catch (err) {
      return { kind: 'unreadable', error: err as NodeJS.ErrnoException };
    } finally {
      await fh.close();
    }
  }

  private apply(text: string): void {
    const hash = createHash('sha256').update(text).digest('hex');
    if (hash === this.lastHash) return;
    this.lastHash = hash;
    // YAML 1.2 is a superset of JSON; JSON.parse reads the same document ~100 times faster.
    const format = /^\s*\{/.test(text) ? 'JSON' : 'YAML';
    let doc: unknown;
    try {
      doc = format === 'JSON' ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      return this.reject(`state file ${this.path} is not valid ${format}: ${(err as Error).message.split('\n')[0]}`);
    }
    const checked = checkVtepNodeState(doc);
    if (!checked.ok) return this.reject(`state file ${this.path} rejected: ${checked.error.message}`);
    const state = checked.value;
    if (state.metadata.name !== this.node) {
      return this.reject(`state file ${this.path} rejected: metadata.name: "${state.metadata.name}" is not this node ("${this.node}")`);
    }
    if (state.spec.groupsFrom === 'VtepGroups') {
      return this.reject(`state file ${this.path} rejected: spec.groupsFrom: VtepGroups needs Kubernetes mode (the agent reads the VtepGroups from the apiserver); a state file lists its groups (groupsFrom Spec)`);
    }
    this.log.info('desired state applied', { file: this.path, groups: state.spec.groups.length, generation: state.metadata.generation });
    this.agent.setSpec(nodeSpecFrom(state));
  }

  private reject(message: string, hashOverride?: string): void {
    if (hashOverride !== undefined) {
      if (this.lastHash === hashOverride) return;
      this.lastHash = hashOverride;
    }
    this.log.error(message, { file: this.path });
    this.agent.rejectSpec(message);
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

export class StatusFileWriter {
  private latest: VtepNodeStateStatus | undefined;
  private writing: Promise<void> | undefined;
  private seq = 0;

  constructor(
    private readonly path: string,
    private readonly log: Logger,
  ) {}

  write(status: VtepNodeStateStatus): void {
    this.latest = status;
    this.writing ??= this.drain();
  }

  /** Resolves once everything handed in so far is on disk. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.latest) {
        const status = this.latest;
        this.latest = undefined;
        const tmp = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.${this.seq++}.tmp`);
        try {
          await writeFile(tmp, JSON.stringify(status, null, 2) + '\n');
          await rename(tmp, this.path);
        } catch (err) {
          this.log.error('cannot write status file', { file: this.path, err });
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}
