/**
 * OpenFlow 1.5 (and 1.3 where Open vSwitch needs it) for Open vSwitch:
 * a table-driven codec, a controller-side client with bundles, ovs-ofctl
 * style formatting, and canonical forms for desired-vs-installed diffs.
 * No Kubernetes, no agent imports: publishable on its own.
 */
export * from './constants.js';
export * from './errors.js';
export * from './addresses.js';
export { OXM_FIELDS, oxmFieldByName, oxmFieldByKey, type Match, type MatchKey, type Masked, type OxmValue, type RawOxm, type OxmFieldDef } from './oxm.js';
export { OFPP, type Action, type Instruction } from './actions.js';
export { type LearnAction, type LearnSpec } from './learn.js';
export * from './group.js';
export * from './flow.js';
export * from './port.js';
export { errorName, type ErrorName } from './error-codes.js';
export * from './message.js';
export * from './bundle.js';
export * from './format.js';
export * from './canonical.js';
export * from './target.js';
export { MessageFramer } from './framer.js';
export { OpenFlowClient, type OpenFlowClientOptions, type OpenFlowClientEvents, type ConnectedEvent, type DisconnectedEvent, type GroupEntry, type BundleOptions } from './client.js';
