/**
 * A throwaway Open vSwitch for one test: the lab's launcher
 * (src/lab/ovs-instance.ts) in a fresh temporary run directory, with a
 * test's lifetime — `stop()` ends both daemons by pid and removes the
 * directory; the exit hook (cleanup.ts) does the same if the test never
 * gets there.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OvsInstance } from '../../src/lab/ovs-instance.js';
import { OWNER_PID_FILE, registerCleanup } from './cleanup.js';

export type { DummyPortOptions } from '../../src/lab/ovs-instance.js';

export class OvsSandbox extends OvsInstance {
  private unregister: () => void;

  private constructor(dir: string) {
    super(dir);
    this.unregister = registerCleanup(() => {
      for (const d of [this.vswitchd, this.ovsdb]) d?.kill();
      rmSync(dir, { recursive: true, force: true });
    });
  }

  static async start(): Promise<OvsSandbox> {
    const dir = mkdtempSync(join(tmpdir(), 'evpn-ovs-'));
    // Names this process as the owner, so a parallel run's leftover sweep
    // (global-setup.ts) leaves the directory alone before the daemons start.
    writeFileSync(join(dir, OWNER_PID_FILE), String(process.pid));
    const sandbox = new OvsSandbox(dir);
    try {
      await sandbox.boot('owned');
    } catch (err) {
      await sandbox.stop();
      throw err;
    }
    return sandbox;
  }

  override async stop(): Promise<void> {
    await super.stop();
    this.unregister();
  }
}
