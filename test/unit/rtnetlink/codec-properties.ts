/**
 * Shared pieces of the codec property tests: arbitraries for unknown
 * attributes, normal forms for comparing decoded objects, and the checks
 * that hostile bytes only ever produce NetlinkDecodeError. (fuzz.test.ts
 * still has its own copies; it can switch to these.)
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { decodeMessage, encodeMessage, NetlinkDecodeError, type RtnetlinkMessage } from '../../../src/lib/rtnetlink/index.js';

export const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** Up to three attributes whose types the table does not know (they must come back in `raw`). */
export const rawAttrs = (knownTypes: number[]) =>
  fc.array(
    fc.record({
      type: fc.integer({ min: 1, max: 0x3fff }).filter((t) => !knownTypes.includes(t)),
      nested: fc.boolean(),
      data: fc.uint8Array({ maxLength: 24 }),
    }),
    { maxLength: 3 },
  );

/** Drops undefined fields and an empty `raw`, as the decoder never produces them. */
export function strip<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (k === 'raw' && Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  return out as T;
}

/** Decoded objects with bytes as plain arrays (Buffer vs Uint8Array must not matter), bigints as text. */
export function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'bigint') return v.toString();
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, plain(x)]));
  return v;
}

export function expectOnlyDecodeErrors(buf: Buffer): void {
  try {
    decodeMessage(buf);
  } catch (err) {
    if (!(err instanceof NetlinkDecodeError)) throw err;
  }
}

/** Every truncation of `m`'s bytes (with a header that claims what is there, and one that claims more) and one corrupted byte. */
export function expectTruncationsAndCorruptionHandled(m: RtnetlinkMessage, pos: number, val: number): void {
  const bytes = encodeMessage(m);
  for (let cut = 0; cut < bytes.length; cut++) {
    const t = Buffer.from(bytes.subarray(0, cut));
    if (t.length >= 4) t.writeUInt32LE(t.length, 0);
    expectOnlyDecodeErrors(t);
    expectOnlyDecodeErrors(bytes.subarray(0, cut));
  }
  const c = Buffer.from(bytes);
  c[pos % c.length] = val;
  expectOnlyDecodeErrors(c);
}

/** Asserts that decoding `buf` throws a NetlinkDecodeError naming `field` at `offset`. */
export function expectDecodeError(buf: Buffer, field: string, offset: number): void {
  try {
    decodeMessage(buf);
    expect.unreachable('should throw');
  } catch (err) {
    expect(err).toBeInstanceOf(NetlinkDecodeError);
    expect((err as NetlinkDecodeError).field).toBe(field);
    expect((err as NetlinkDecodeError).offset).toBe(offset);
  }
}
