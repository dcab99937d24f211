/** OVSDB (RFC 7047) client and the Open_vSwitch operations the agent needs. No Kubernetes imports. */
export * from './client.js';
export * from './vswitch.js';
export { JsonStreamError, JsonValueSplitter } from './json-stream.js';
