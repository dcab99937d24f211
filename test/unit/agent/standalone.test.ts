import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, renameSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { StateFileSource } from '../../../src/agent/standalone.js';
import { silentLogger } from '../../../src/util/log.js';
import type { SpecTarget } from '../../../src/agent/kube/node-state-source.js';

type Spec = Parameters<SpecTarget['setSpec']>[0];

/** Records what the state file told the agent. */
class Recorder implements Pick<SpecTarget, 'setSpec' | 'rejectSpec'> {
  readonly specs: Spec[] = [];
  readonly rejections: string[] = [];
  setSpec(spec: Spec): void {
    this.specs.push(spec);
  }
  rejectSpec(message: string): void {
    this.rejections.push(message);
  }
}

function stateObject(groups: number, generation = 1): Record<string, unknown> {
  return {
    apiVersion: 'evpn.ecmp.dev/v1alpha1',
    kind: 'VtepNodeState',
    metadata: { name: 'node-a', generation },
    spec: {
      fabric: 'default',
      localVtepIP: '192.0.2.1',
      groups: Array.from({ length: groups }, (_, i) => ({
        name: `g${i}`,
        generation: 1,
        vni: 100,
        vteps: [{ ip: '198.51.100.2', weight: 1 }],
        macs: [`02:00:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`],
      })),
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, pred: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('standalone state file', { timeout: 30_000 }, () => {
  let dir: string;
  let path: string;
  let source: StateFileSource | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'evpn-state-'));
    path = join(dir, 'state.yaml');
  });
  afterEach(() => {
    source?.stop();
    source = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** Replaces the state file atomically, as writers are told to. */
  function replace(text: string): void {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }

  it('refuses a file over the size limit unread, naming its size and the limit; the previous state stays', async () => {
    const agent = new Recorder();
    replace(stringify(stateObject(2)));
    source = new StateFileSource(path, 'node-a', agent, silentLogger, { maxBytes: 64 * 1024, pollMs: 20, settleMs: 50 });
    await source.start();
    expect(agent.specs.map((s) => s.groups.length)).toEqual([2]);

    const big = stringify(stateObject(2000, 2));
    expect(big.length).toBeGreaterThan(64 * 1024);
    replace(big);
    await until('a rejection', () => agent.rejections.length > 0);
    expect(agent.rejections[0]).toBe(`state file ${path} is ${Buffer.byteLength(big)} bytes, over the limit of 65536 (--state-file-max-bytes); the previous state stays applied`);
    expect(agent.specs).toHaveLength(1);

    // Back under the limit: applied again.
    replace(stringify(stateObject(3, 3)));
    await until('the new state', () => agent.specs.length === 2);
    expect(agent.specs[1]!.groups).toHaveLength(3);
  });

  it('reads a file written in place only once it is whole: a schema-valid prefix is never applied', async () => {
    const agent = new Recorder();
    replace(stringify(stateObject(1)));
    // settleMs is far above the writer's pause, even on a loaded machine.
    source = new StateFileSource(path, 'node-a', agent, silentLogger, { pollMs: 20, settleMs: 3000 });
    await source.start();
    expect(agent.specs.map((s) => s.groups.length)).toEqual([1]);

    // A writer that rewrites the file in place in pieces. Cut after the
    // second group, the text is a valid VtepNodeState with 2 of 4 groups.
    const whole = stringify(stateObject(4, 2));
    const cut = whole.indexOf('  - name: g2');
    expect(cut).toBeGreaterThan(0);
    writeFileSync(path, whole.slice(0, cut));
    for (let i = 0; i < 5; i++) {
      await sleep(50); // several polls see the prefix
    }
    appendFileSync(path, whole.slice(cut));
    await until('the whole state', () => agent.specs.some((spec) => spec.groups.length === 4));
    await sleep(3500);
    expect(agent.specs.map((s) => s.groups.length)).toEqual([1, 4]);
    expect(agent.rejections).toEqual([]);
  });

  it('reads a replaced file at once, without waiting for it to settle', async () => {
    const agent = new Recorder();
    replace(stringify(stateObject(1)));
    source = new StateFileSource(path, 'node-a', agent, silentLogger, { pollMs: 20, settleMs: 60_000 });
    await source.start();
    replace(stringify(stateObject(2, 2)));
    await until('the new state', () => agent.specs.length === 2);
    expect(agent.specs[1]!.groups).toHaveLength(2);
  });

  it('reads a JSON state file (without the YAML parser) and names the format of a broken one', async () => {
    const agent = new Recorder();
    replace(JSON.stringify(stateObject(2)));
    source = new StateFileSource(path, 'node-a', agent, silentLogger, { pollMs: 20, settleMs: 50 });
    await source.start();
    expect(agent.specs.map((s) => s.groups.length)).toEqual([2]);
    replace('{"apiVersion": ');
    await until('a rejection', () => agent.rejections.length > 0);
    expect(agent.rejections[0]).toMatch(/is not valid JSON/);
  });

  it('refuses groupsFrom VtepGroups (there is no apiserver to read them from); the previous state stays', async () => {
    const agent = new Recorder();
    replace(JSON.stringify(stateObject(2)));
    source = new StateFileSource(path, 'node-a', agent, silentLogger, { pollMs: 20, settleMs: 50 });
    await source.start();
    const fromGroups = stateObject(0, 2) as { spec: Record<string, unknown> };
    fromGroups.spec.groupsFrom = 'VtepGroups';
    replace(JSON.stringify(fromGroups));
    await until('a rejection', () => agent.rejections.length > 0);
    expect(agent.rejections[0]).toMatch(/spec\.groupsFrom: VtepGroups needs Kubernetes mode/);
    expect(agent.specs.map((s) => s.groups.length)).toEqual([2]);
  });
});
