import { describe, expect, it } from 'vitest';
import { AgentLiveness, markedNotReporting, notReportingConditions, type HeartbeatLease } from '../../../src/operator/liveness.js';

const lease = (node: string, renewTime: string, leaseDurationSeconds = 30, holder = node): HeartbeatLease => ({
  metadata: { name: node, namespace: 'evpn-system' },
  spec: { holderIdentity: holder, leaseDurationSeconds, renewTime },
});

function clock() {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('AgentLiveness', () => {
  it('calls an agent silent after its Lease duration (three intervals) without a renewal, measured on its own clock', () => {
    const c = clock();
    const l = new AgentLiveness({ now: c.now });
    // renewTime far in the past on the agent's clock: skew does not matter, only seeing it change.
    l.observeLease(lease('node-a', '2001-01-01T00:00:00.000000Z', 3));
    expect(l.verdict('node-a')).toEqual({ reporting: true, expiresInMs: 3_000 });
    c.advance(2_000);
    l.observeLease(lease('node-a', '2001-01-01T00:00:01.000000Z', 3)); // renewed
    c.advance(2_999);
    expect(l.verdict('node-a').reporting).toBe(true);
    c.advance(1);
    const v = l.verdict('node-a');
    expect(v.reporting).toBe(false);
    if (!v.reporting) expect(v.message).toMatch(/has not renewed its heartbeat Lease evpn-system\/node-a for 3 s \(last renewal 2001-01-01T00:00:01.000000Z/);
    // The same renewTime again (a resync) is no renewal.
    l.observeLease(lease('node-a', '2001-01-01T00:00:01.000000Z', 3));
    expect(l.verdict('node-a').reporting).toBe(false);
    l.observeLease(lease('node-a', '2001-01-01T00:00:09.000000Z', 3));
    expect(l.verdict('node-a').reporting).toBe(true);
  });

  it('gives an agent without a Lease the default grace from when it was first asked about', () => {
    const c = clock();
    const l = new AgentLiveness({ now: c.now, defaultGraceMs: 10_000 });
    c.advance(60_000);
    expect(l.verdict('node-b')).toEqual({ reporting: true, expiresInMs: 10_000 });
    c.advance(10_000);
    const v = l.verdict('node-b');
    expect(v.reporting).toBe(false);
    if (!v.reporting) expect(v.message).toMatch(/no heartbeat Lease node-b/);
  });

  it('counts a status write by the agent (a new lastReportTime) as a sign of life', () => {
    const c = clock();
    const l = new AgentLiveness({ now: c.now, defaultGraceMs: 5_000 });
    l.observeReport('node-a', '2026-12-07T10:00:00.000Z');
    c.advance(4_000);
    l.observeReport('node-a', '2026-12-07T10:00:00.000Z'); // unchanged: the same report
    c.advance(1_000);
    expect(l.verdict('node-a').reporting).toBe(false);
    l.observeReport('node-a', '2026-12-07T10:00:05.000Z');
    expect(l.verdict('node-a').reporting).toBe(true);
    l.observeReport('node-a', undefined); // no field (an old agent, or the operator's own mark)
    c.advance(5_000);
    expect(l.verdict('node-a').reporting).toBe(false);
  });

  it('ignores a Lease that is not the node\'s own heartbeat', () => {
    const c = clock();
    const l = new AgentLiveness({ now: c.now, defaultGraceMs: 5_000 });
    expect(l.verdict('node-a').reporting).toBe(true);
    c.advance(4_000);
    l.observeLease(lease('node-a', '2026-12-07T10:00:00.000000Z', 30, 'someone-else'));
    c.advance(1_000);
    expect(l.verdict('node-a').reporting).toBe(false);
  });

  it('calls no one dead while blind, and gives everyone a fresh grace when the Lease watch is back', () => {
    const c = clock();
    const l = new AgentLiveness({ now: c.now });
    l.observeLease(lease('node-a', '2026-12-07T10:00:00.000000Z', 3));
    l.blinded();
    c.advance(60_000);
    expect(l.verdict('node-a').reporting).toBe(true);
    l.resumed();
    c.advance(2_000);
    expect(l.verdict('node-a')).toEqual({ reporting: true, expiresInMs: 1_000 });
    c.advance(1_000);
    expect(l.verdict('node-a').reporting).toBe(false);
  });

  it('a deleted Lease leaves the last evidence with the default grace; a forgotten node starts over', () => {
    const c = clock();
    const l = new AgentLiveness({ now: c.now, defaultGraceMs: 10_000 });
    l.observeLease(lease('node-a', '2026-12-07T10:00:00.000000Z', 3));
    l.forgetLease('node-a');
    c.advance(5_000);
    expect(l.verdict('node-a').reporting).toBe(true);
    c.advance(5_000);
    expect(l.verdict('node-a').reporting).toBe(false);
    l.forget('node-a');
    expect(l.verdict('node-a').reporting).toBe(true);
  });
});

describe('notReportingConditions', () => {
  const t0 = '2026-12-07T09:00:00Z';
  const now = new Date('2026-12-07T10:00:00.500Z');
  it('turns every condition the agent reported Unknown, keeping transition times already Unknown', () => {
    const previous = [
      { type: 'Ready', status: 'True' as const, reason: 'Synced', message: '', lastTransitionTime: t0, observedGeneration: 3 },
      { type: 'OvsSynced', status: 'True' as const, reason: 'Synced', message: '', lastTransitionTime: t0 },
      { type: 'DataplaneDrift', status: 'Unknown' as const, reason: 'NotAudited', message: '', lastTransitionTime: t0 },
    ];
    const out = notReportingConditions(previous, 'silent', now);
    expect(out).toEqual([
      { type: 'Ready', status: 'Unknown', reason: 'AgentNotReporting', message: 'silent', observedGeneration: 3, lastTransitionTime: '2026-12-07T10:00:00Z' },
      { type: 'OvsSynced', status: 'Unknown', reason: 'AgentNotReporting', message: 'silent', lastTransitionTime: '2026-12-07T10:00:00Z' },
      { type: 'DataplaneDrift', status: 'Unknown', reason: 'AgentNotReporting', message: 'silent', lastTransitionTime: t0 },
    ]);
    expect(markedNotReporting(previous)).toBe(false);
    expect(markedNotReporting(out)).toBe(true);
  });

  it('adds Ready for a node whose agent never reported', () => {
    expect(notReportingConditions(undefined, 'never', now)).toEqual([
      { type: 'Ready', status: 'Unknown', reason: 'AgentNotReporting', message: 'never', lastTransitionTime: '2026-12-07T10:00:00Z' },
    ]);
  });
});
