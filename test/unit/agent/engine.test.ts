import { describe, expect, it } from 'vitest';
import { Engine, EngineGraphError, type ChangeResult, type EngineNode, type HandlerResult } from '../../../src/agent/engine/engine.js';

function input(name: string) {
  let pending = 0;
  const node: EngineNode<{ value: number; delta: number }> & { add(n: number): void } = {
    name,
    inputs: [],
    data: { value: 0, delta: 0 },
    add(n: number) {
      pending += n;
    },
    recompute(): ChangeResult {
      node.data.delta = pending;
      node.data.value += pending;
      pending = 0;
      return node.data.delta !== 0 ? 'updated' : 'unchanged';
    },
    clearTracked() {
      node.data.delta = 0;
    },
  };
  return node;
}

describe('engine', () => {
  it('runs nodes in topological order, handles changes incrementally, recomputes when a handler declines', () => {
    const a = input('a');
    const b = input('b');
    let decline = false;
    const calls: string[] = [];
    const sum: EngineNode<{ total: number }> = {
      name: 'sum',
      data: { total: 0 },
      inputs: [
        {
          node: a,
          handler: (): HandlerResult => {
            calls.push('handle-a');
            if (decline) return 'unhandled';
            sum.data.total += a.data.delta;
            return 'updated';
          },
        },
        { node: b }, // no handler: any change of b recomputes
      ],
      recompute() {
        calls.push('recompute');
        sum.data.total = a.data.value + b.data.value;
        return 'updated';
      },
    };
    const engine = new Engine([sum]);
    expect(engine.order.map((n) => n.name)).toEqual(['a', 'b', 'sum']);

    engine.run(); // first run is a full computation
    expect(calls).toEqual(['recompute']);
    calls.length = 0;

    a.add(5);
    let report = engine.run();
    expect(sum.data.total).toBe(5);
    expect(calls).toEqual(['handle-a']);
    expect(report.updated).toEqual(['a', 'sum']);

    calls.length = 0;
    report = engine.run();
    expect(calls).toEqual([]);
    expect(report.updated).toEqual([]);

    b.add(2);
    engine.run();
    expect(calls).toEqual(['recompute']);
    expect(sum.data.total).toBe(7);

    calls.length = 0;
    decline = true;
    a.add(1);
    engine.run();
    expect(calls).toEqual(['handle-a', 'recompute']);
    expect(sum.data.total).toBe(8);

    calls.length = 0;
    engine.forceRecompute();
    engine.run();
    expect(calls).toEqual(['recompute']);

    const stats = engine.nodeStats();
    expect(stats['sum']).toMatchObject({ recompute: 4, incremental: 1, unchanged: 1 });
    expect(stats['a']!.recompute).toBe(6);
  });

  it('clears tracked changes at the start of every run', () => {
    const a = input('a');
    const seen: number[] = [];
    const reader: EngineNode<null> = {
      name: 'reader',
      data: null,
      inputs: [{ node: a, handler: () => (seen.push(a.data.delta), 'unchanged') }],
      recompute: () => 'unchanged',
    };
    const engine = new Engine([reader]);
    engine.run();
    a.add(3);
    engine.run();
    engine.run();
    expect(seen).toEqual([3]);
    expect(a.data.delta).toBe(0);
  });

  it('refuses cycles and duplicate names', () => {
    const x: EngineNode<null> = { name: 'x', data: null, inputs: [], recompute: () => 'unchanged' };
    const y: { name: string; data: null; inputs: Array<{ node: EngineNode }>; recompute: () => ChangeResult } = {
      name: 'y', data: null, inputs: [], recompute: () => 'unchanged',
    };
    const z: EngineNode<null> = { name: 'z', data: null, inputs: [{ node: y }], recompute: () => 'unchanged' };
    y.inputs.push({ node: z });
    expect(() => new Engine([z])).toThrow(EngineGraphError);
    const x2: EngineNode<null> = { name: 'x', data: null, inputs: [], recompute: () => 'unchanged' };
    const top: EngineNode<null> = { name: 'top', data: null, inputs: [{ node: x }, { node: x2 }], recompute: () => 'unchanged' };
    expect(() => new Engine([top])).toThrow(/two engine nodes named "x"/);
  });
});
