import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Debouncer } from './debounce.js';

describe('Debouncer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('fires once after the quiet period', () => {
    const fired: string[] = [];
    const d = new Debouncer({ debounceMs: 100, maxWaitMs: 1000 }, (k) => fired.push(k));
    d.mark('a');
    vi.advanceTimersByTime(50);
    d.mark('a');
    vi.advanceTimersByTime(99);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['a']);
    expect(d.pendingKeys()).toEqual([]);
  });

  it('fires by maxWait under constant marks', () => {
    const fired: number[] = [];
    const d = new Debouncer({ debounceMs: 100, maxWaitMs: 300 }, () => fired.push(Date.now()));
    const start = Date.now();
    for (let t = 0; t < 1000; t += 50) {
      d.mark('a');
      vi.advanceTimersByTime(50);
    }
    expect(fired.length).toBeGreaterThanOrEqual(3);
    expect((fired[0] ?? 0) - start).toBeLessThanOrEqual(300);
  });

  it('keys are independent; cancel drops', () => {
    const fired: string[] = [];
    const d = new Debouncer({ debounceMs: 10, maxWaitMs: 100 }, (k) => fired.push(k));
    d.mark('a');
    d.mark('b');
    d.cancel('a');
    vi.advanceTimersByTime(20);
    expect(fired).toEqual(['b']);
  });
});
