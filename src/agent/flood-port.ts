/**
 * FloodPort on src/lib/rtnetlink and src/lib/openflow: its own rtnetlink
 * socket for flood-list writes (the agent's notifications still come from
 * the KernelPort subscription, so our writes are observed like anyone
 * else's) and its own OpenFlow connection to `<rundir>/<bridge>.mgmt` for
 * the `all` groups.
 */
import { join } from 'node:path';
import { OFPG, OpenFlowClient } from '../lib/openflow/index.js';
import { KernelError, NTF_SELF, RtnetlinkClient } from '../lib/rtnetlink/index.js';
import { ZERO_MAC, type FloodGroup } from './model.js';
import { inRange } from './ownership.js';
import type { FloodKernelOp, FloodPort, OvsSettingsForPort } from './ports.js';
import { floodGroupMod, fromFloodGroupDesc } from './flood-openflow.js';
import type { FloodChange } from './sync/flood-plan.js';
import { silentLogger, type Logger } from '../util/log.js';

export class FloodEdge implements FloodPort {
  private kernel: RtnetlinkClient | undefined;
  private of: OpenFlowClient | undefined;

  constructor(
    private readonly rundir: string,
    private readonly log: Logger = silentLogger,
  ) {}

  async applyKernel(op: FloodKernelOp): Promise<void> {
    this.kernel ??= new RtnetlinkClient();
    if (op.op === 'appendFlood') {
      // NLM_F_APPEND adds one more destination to the device's all-zeros
      // entry (vxlan_fdb_append); the default state, as iproute2's, is
      // permanent. NDA_PROTOCOL is not sent: VXLAN devices do not keep it.
      await this.kernel.addFdbEntry({ ifindex: op.ifindex, mac: ZERO_MAC, dst: op.dst, flags: NTF_SELF, append: true });
      return;
    }
    try {
      // With NDA_DST only that destination goes; the entry stays while others remain.
      await this.kernel.deleteFdbEntry({ ifindex: op.ifindex, mac: ZERO_MAC, dst: op.dst, flags: NTF_SELF });
    } catch (err) {
      if (err instanceof KernelError && (err.code === 'ENOENT' || err.code === 'ESRCH')) return;
      throw err;
    }
  }

  async connect(settings: OvsSettingsForPort): Promise<void> {
    this.closeOpenFlow();
    const mgmt = join(this.rundir, `${settings.bridge}.mgmt`);
    const of = await OpenFlowClient.connect(`unix:${mgmt}`, { reconnect: false });
    of.on('protocolError', (err) => this.log.warn('malformed OpenFlow message from the switch dropped', { error: err.message }));
    // A lost connection shows as a failed read or commit, upon which the agent reconnects.
    of.on('disconnected', () => undefined);
    this.of = of;
  }

  async readInstalled(settings: OvsSettingsForPort, vniOf: ReadonlyMap<number, number>): Promise<Map<number, FloodGroup>> {
    const out = new Map<number, FloodGroup>();
    for (const d of await this.requireOf().dumpGroupDescs(OFPG.ALL)) {
      if (d.type === 'all' && inRange(d.groupId, settings.groupIdRange)) out.set(d.groupId, fromFloodGroupDesc(d, vniOf.get(d.groupId) ?? 0));
    }
    return out;
  }

  async commit(changes: readonly FloodChange[]): Promise<void> {
    if (changes.length === 0) return;
    await this.requireOf().applyBundle(changes.map((c) => ({ type: 'groupMod' as const, groupMod: floodGroupMod(c.command, c.group) })));
  }

  close(): void {
    this.closeOpenFlow();
    this.kernel?.close();
    this.kernel = undefined;
  }

  private closeOpenFlow(): void {
    this.of?.removeAllListeners();
    this.of?.close();
    this.of = undefined;
  }

  private requireOf(): OpenFlowClient {
    if (!this.of) throw new Error('not connected to the OpenFlow bridge (flood groups)');
    return this.of;
  }
}
