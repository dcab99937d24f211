/**
 * A whole lab (src/lab) for an end-to-end test: its own temporary directory
 * (named by the harness prefix, with the owner's pid, so a crashed run's
 * lab is swept by global-setup.ts), namespaces named `evt-<pid>-…`, the CLI
 * run from source. `close()` runs `lab down`; if the worker dies first, an
 * exit hook kills what the lab started and deletes its namespaces.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Lab, type LabUpOptions } from '../../src/lab/lab.js';
import { controlNetnsName } from '../../src/lab/control-network.js';
import { pidsUsing } from '../../src/lab/daemon.js';
import { LabLayout, nodeName } from '../../src/lab/layout.js';
import { OWNER_PID_FILE, registerCleanup } from './cleanup.js';
import { runSync } from './exec.js';
import { NETNS_PREFIX } from './netns.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The lab's processes run the CLI from source, as the other process tests do. */
export const LAB_CLI = [process.execPath, '--import', pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href, join(REPO, 'test/integration/lab/cli-entry.ts')];

export interface TestLab {
  lab: Lab;
  dir: string;
  /** `lab down` (when the lab still exists), then the directory goes. */
  close(): Promise<void>;
}

/** Brings a lab up in a fresh temporary directory and waits for convergence. */
export async function startTestLab(opts: Partial<LabUpOptions> = {}): Promise<TestLab> {
  const netnsPrefix = `${NETNS_PREFIX}${process.pid}-${randomBytes(2).toString('hex')}-`;
  const dir = mkdtempSync(join(tmpdir(), 'evpn-lab-'));
  writeFileSync(join(dir, OWNER_PID_FILE), `${process.pid}\n`);
  const nodes = opts.nodes ?? 3;
  const unregister = registerCleanup(() => {
    // Last resort if the worker dies before close(): everything the lab
    // started names the lab directory on its command line.
    for (const pid of pidsUsing(dir)) runSync('kill', ['-9', String(pid)]);
    for (let i = 0; i < nodes; i++) runSync('ip', ['netns', 'delete', `${netnsPrefix}${nodeName(i)}`]);
    runSync('ip', ['netns', 'delete', controlNetnsName(netnsPrefix)]);
    rmSync(new LabLayout(dir).runDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });
  const close = async () => {
    if (existsSync(join(dir, 'lab.json'))) await Lab.down(dir);
    rmSync(dir, { recursive: true, force: true });
    unregister();
  };
  try {
    const lab = await Lab.up({ dir, cli: LAB_CLI, netnsPrefix, convergenceTimeoutMs: 180_000, ...opts });
    return { lab, dir, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
