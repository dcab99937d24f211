/**
 * A real Kubernetes control plane for one test file: etcd and kube-apiserver
 * (and, on request, kube-controller-manager) on loopback, in a fresh
 * temporary directory. The launcher is the lab's (src/lab/control-plane.ts);
 * this wrapper gives it a test's lifetime: `stop()` ends every process by pid
 * and removes the directory, the exit hook in cleanup.ts does the same if
 * the worker dies first, and global-setup sweeps what a crashed run left.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONTROL_PLANE_BINARIES,
  CRDS_DIR,
  ControlPlane as LabControlPlane,
  SERVICE_ACCOUNT_ISSUER,
  controlPlaneBinDir,
  kubernetesVersion,
  missingControlPlaneBinaries,
  type ControlPlaneOptions as LabControlPlaneOptions,
} from '../../src/lab/control-plane.js';
import { OWNER_PID_FILE, registerCleanup } from './cleanup.js';

export const KUBE_DIR_PREFIX = 'evpn-kube-';
/** File in the temp dir naming the test process that owns it (global-setup spares live owners). */
export { OWNER_PID_FILE };
export { CONTROL_PLANE_BINARIES, CRDS_DIR, SERVICE_ACCOUNT_ISSUER, controlPlaneBinDir, kubernetesVersion };

/**
 * Like prereq.ts's missingPrerequisites, for the control plane: a reason to
 * skip when the binaries are not built yet (throws in CI, where the bootstrap
 * script must have built them).
 */
export function missingControlPlane(): string | undefined {
  const missing = missingControlPlaneBinaries();
  if (missing.length === 0) return undefined;
  const reason = `control plane not built (${missing.join(', ')} missing in ${controlPlaneBinDir()}; run scripts/control-plane/build.sh)`;
  if (process.env.CI === 'true') throw new Error(reason);
  process.stderr.write(`SKIPPING kube suite: ${reason}\n`);
  return reason;
}

export type ControlPlaneOptions = Omit<LabControlPlaneOptions, 'lifetime'>;

/**
 * A running etcd + kube-apiserver. Use one per test file (or per suite with
 * unique object names): `const cp = await ControlPlane.start()`, then
 * `cp.kubectl(...)`, `cp.kubeConfig` for @kubernetes/client-node, and
 * `await cp.stop()` in afterAll.
 */
export class ControlPlane extends LabControlPlane {
  private unregister: () => void;

  private constructor(dir: string) {
    super(dir);
    this.unregister = registerCleanup(() => {
      for (const d of this.daemons.values()) d.kill();
      rmSync(dir, { recursive: true, force: true });
    });
  }

  static async start(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const dir = mkdtempSync(join(tmpdir(), KUBE_DIR_PREFIX));
    writeFileSync(join(dir, OWNER_PID_FILE), `${process.pid}\n`);
    const cp = new ControlPlane(dir);
    try {
      await cp.boot({ ...opts, lifetime: 'owned' });
    } catch (err) {
      await cp.stop();
      throw err;
    }
    return cp;
  }

  /** Stops every daemon by pid (dependants first) and removes the directory. */
  override async stop(): Promise<void> {
    await super.stop();
    this.unregister();
  }
}
