import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { JsonStreamError, JsonValueSplitter } from '../../../src/lib/ovsdb/json-stream.js';
import { fromOvsdbMap, fromOvsdbOptional, fromOvsdbSet, ovsdbMap } from '../../../src/lib/ovsdb/client.js';

describe('OVSDB JSON-RPC stream splitting', () => {
  it('splits back-to-back values however the stream is chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue().map((v) => ({ id: 1, result: v, s: 'q"}{]["\\' })), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 17 }), (values, size) => {
        const text = values.map((v) => JSON.stringify(v)).join('');
        const s = new JsonValueSplitter();
        const got: unknown[] = [];
        for (let i = 0; i < text.length; i += size) got.push(...s.push(text.slice(i, i + size)).map((t) => JSON.parse(t) as unknown));
        expect(got).toEqual(values.map((v) => JSON.parse(JSON.stringify(v)) as unknown));
      }),
      { numRuns: 300 },
    );
  });

  it('skips bytes that cannot start a message and delivers every message after them', () => {
    const skipped: JsonStreamError[] = [];
    const s = new JsonValueSplitter({ onGarbage: (e) => skipped.push(e) });
    // A stray quote between messages used to open a "string" that swallowed
    // every later message's brackets.
    expect(s.push('{"id":1}"{"id":2}')).toEqual(['{"id":1}', '{"id":2}']);
    expect(s.push(' }] x {"id":3,"s":"a\\\\"}')).toEqual(['{"id":3,"s":"a\\\\"}']);
    expect(s.push('{"id":4}')).toEqual(['{"id":4}']);
    expect(skipped.map((e) => e.offset)).toEqual([8, 18]);
    expect(skipped[0]!.message).toMatch(/unexpected "\\"" between JSON-RPC messages/);
    expect(skipped[1]!.message).toMatch(/unexpected "}"/);
  });

  it('recovers after any garbage between messages however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.jsonValue().map((v) => ({ id: 1, result: v })), fc.string({ maxLength: 6 }).map((g) => g.replace(/[{[]/g, ''))), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 17 }),
        (items, size) => {
          const text = items.map(([v, garbage]) => garbage + JSON.stringify(v)).join('');
          const s = new JsonValueSplitter({ onGarbage: () => undefined });
          const got: unknown[] = [];
          const bytes = Buffer.from(text);
          for (let i = 0; i < bytes.length; i += size) got.push(...s.push(bytes.subarray(i, i + size)).map((t) => JSON.parse(t) as unknown));
          expect(got).toEqual(items.map(([v]) => JSON.parse(JSON.stringify(v)) as unknown));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('caps a message in bytes, not characters, and joins UTF-8 characters cut by a chunk boundary', () => {
    // 8 characters, 12 bytes of UTF-8.
    expect(() => new JsonValueSplitter({ maxBytes: 10 }).push('["éééé"]')).toThrow(/larger than 10 bytes/);
    const bytes = Buffer.from('{"name":"vxlan-é→"}');
    const s = new JsonValueSplitter();
    const got = [...s.push(bytes.subarray(0, 16)), ...s.push(bytes.subarray(16))];
    expect(got).toEqual(['{"name":"vxlan-é→"}']);
  });

  it('is linear in the stream: a 32 MiB value in 16 KiB chunks', { timeout: 60_000 }, () => {
    // Each byte is looked at once and the pieces are joined once (~0.2 s
    // here). Growing a string by += and re-reading it on every chunk copied
    // the value so far each time: quadratic, tens of seconds. The bound is
    // generous for a machine several times slower than the linear work needs.
    const value = Buffer.alloc(32 * 1024 * 1024, 0x61);
    Buffer.from('{"id":1,"result":"').copy(value);
    Buffer.from('"}').copy(value, value.length - 2);
    const s = new JsonValueSplitter();
    const started = performance.now();
    const out: string[] = [];
    for (let i = 0; i < value.length; i += 16384) out.push(...s.push(value.subarray(i, i + 16384)));
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(out).toHaveLength(1);
    expect(out[0]!.length).toBe(value.length);
  });

  it('names the stream offset of bad input, counted across chunks', () => {
    const skipped: JsonStreamError[] = [];
    const s = new JsonValueSplitter({ onGarbage: (e) => skipped.push(e) });
    expect(s.push('{"id":1,"result":["a}{"]}{"id":')).toEqual(['{"id":1,"result":["a}{"]}']);
    expect(s.push('2,"x":"\\"}"}')).toEqual(['{"id":2,"x":"\\"}"}']);
    expect(s.push(' ]')).toEqual([]);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toBeInstanceOf(JsonStreamError);
    // 31 + 12 bytes before, then a space: the bracket is at offset 44.
    expect(skipped[0]!.offset).toBe(44);
    expect(skipped[0]!.message).toMatch(/at stream offset 44$/);
    const big = new JsonValueSplitter({ maxBytes: 8 });
    big.push('{}{}');
    expect(() => big.push('["0123456789"')).toThrow(/larger than 8 bytes at stream offset 4/);
  });

  it('converts OVSDB maps, sets and optional values', () => {
    expect(ovsdbMap({ key: 'flow', remote_ip: 'flow' })).toEqual(['map', [['key', 'flow'], ['remote_ip', 'flow']]]);
    expect(fromOvsdbMap(['map', [['evpn-vni', '100']]])).toEqual({ 'evpn-vni': '100' });
    expect(fromOvsdbOptional(['set', []])).toBeUndefined();
    expect(fromOvsdbOptional(7)).toBe(7);
    expect(fromOvsdbSet(['set', ['a', 'b']])).toEqual(['a', 'b']);
  });
});
