/**
 * Standalone mode: the desired state comes from a YAML file holding a
 * VtepNodeState, the status goes to a JSON file holding its `status`.
 *
 * The state file is watched (stat polling survives editors that replace
 * the file by rename) and re-applied when its content changes; a file that
 * does not parse or validate is reported (log, status) with the path of the
 * bad field, and the previous good state keeps running.
 * The status file is rewritten atomically (temp file + rename in the same
 * directory), coalesced: at most one write in flight, the latest wins.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { unwatchFile, watchFile } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { checkVtepNodeState, type VtepNodeStateStatus } from '../api/index.js';
import type { Logger } from '../util/log.js';
import type { Agent } from './agent.js';
import { nodeSpecFrom } from './spec.js';

export class StateFileSource {
  private lastHash = '';
  private stopped = false;

  constructor(
    private readonly path: string,
    private readonly node: string,
    private readonly agent: Agent,
    private readonly log: Logger,
    private readonly pollMs = 250,
  ) {}

  /** Loads the file once (a bad first file is reported like any other) and starts watching it. */
  async start(): Promise<void> {
    await this.reload();
    watchFile(this.path, { interval: this.pollMs, persistent: false }, () => {
      if (!this.stopped) void this.reload();
    });
  }

  stop(): void {
    this.stopped = true;
    unwatchFile(this.path);
  }

  async reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      return this.reject(`cannot read state file ${this.path}: ${(err as Error).message}`, `unreadable:${(err as NodeJS.ErrnoException).code ?? ''}`);
    }
    const hash = createHash('sha256').update(text).digest('hex');
    if (hash === this.lastHash) return;
    this.lastHash = hash;
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      return this.reject(`state file ${this.path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    const checked = checkVtepNodeState(doc);
    if (!checked.ok) return this.reject(`state file ${this.path} rejected: ${checked.error.message}`);
    const state = checked.value;
    if (state.metadata.name !== this.node) {
      return this.reject(`state file ${this.path} rejected: metadata.name: "${state.metadata.name}" is not this node ("${this.node}")`);
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
          this.log.error('cannot write status file', { file: this.path, error: (err as Error).message });
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}
