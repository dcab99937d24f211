import { formatFlowMod, formatGroupMod } from './format.js';
import type { FlowMod } from './flow.js';
import type { GroupMod } from './group.js';
import type { OfErrorInfo, OfMessage } from './message.js';
import { messageKind } from './message.js';

/** What Open vSwitch 3.x accepts inside an atomic bundle that this library sends (wire.md A6). */
export type BundleMessage = { type: 'groupMod'; groupMod: GroupMod } | { type: 'flowMod'; flowMod: FlowMod };

/**
 * The messages of a bundle: an array, or anything that builds message i on
 * demand. A large bundle (a cold start writes 100,000 flows and 10,000
 * groups) is then encoded one message at a time instead of first building
 * every message object; a refused message is built again to be named.
 */
export interface BundleSource {
  readonly length: number;
  at(index: number): BundleMessage | undefined;
}

/** One message of a bundle that the switch refused. */
export interface BundleFailure {
  /** Position in the messages given to `applyBundle`. */
  index: number;
  message: BundleMessage;
  error: OfErrorInfo;
}

/** One line naming a message in ovs-ofctl's vocabulary, for errors and logs. */
export function describeMessage(m: OfMessage): string {
  if (m.type === 'groupMod') return `GROUP_MOD ${formatGroupMod(m.groupMod)}`;
  if (m.type === 'flowMod') return `FLOW_MOD ${formatFlowMod(m.flowMod)}`;
  return messageKind(m);
}

/**
 * A bundle was refused as a whole: nothing in it was applied. `failures`
 * names each inner message the switch rejected, with its decoded error;
 * `controlError` is the error of the OPEN/COMMIT itself (e.g. MSG_FAILED).
 */
export class OpenFlowBundleError extends Error {
  override name = 'OpenFlowBundleError';
  constructor(
    readonly bundleId: number,
    readonly phase: 'open' | 'add' | 'commit',
    readonly failures: BundleFailure[],
    readonly controlError?: OfErrorInfo,
  ) {
    const first = failures[0];
    const what = first
      ? `message #${first.index} (${describeMessage(first.message)}) failed with ${first.error.name}${failures.length > 1 ? ` (+${failures.length - 1} more)` : ''}`
      : `${phase} failed with ${controlError?.name ?? 'an unknown error'}`;
    super(`bundle ${bundleId} rejected, nothing applied: ${what}`);
  }

  /** Index of the first failing message, if the switch named one. */
  get index(): number | undefined {
    return this.failures[0]?.index;
  }
}
