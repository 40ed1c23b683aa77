import { describe, expect, it } from 'vitest';
import { LineDecoder } from './framing.js';

function decode(chunks: Array<string | Buffer>, max = 16) {
  const lines: string[] = [];
  let overflows = 0;
  const d = new LineDecoder(max, (l) => lines.push(l), () => (overflows += 1));
  for (const c of chunks) d.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return { lines, overflows };
}

describe('LineDecoder', () => {
  it('splits lines across chunks and skips blank ones', () => {
    expect(decode(['{"a"', ':1}\n\n{"b":2', '}\n']).lines).toEqual(['{"a":1}', '{"b":2}']);
  });
  it('keeps multi-byte characters split across chunks intact', () => {
    const bytes = Buffer.from('"é€"\n');
    expect(decode([bytes.subarray(0, 2), bytes.subarray(2)]).lines).toEqual(['"é€"']);
  });
  it('reports an oversized line once, drops it, and recovers at the next newline', () => {
    const r = decode(['x'.repeat(10), 'y'.repeat(10), 'z'.repeat(10), '\n', 'ok\n']);
    expect(r.overflows).toBe(1);
    expect(r.lines).toEqual(['ok']);
  });
  it('reports an oversized complete line', () => {
    const r = decode([`${'x'.repeat(20)}\nok\n`]);
    expect(r).toEqual({ lines: ['ok'], overflows: 1 });
  });
});
