import { describe, expect, it, vi } from 'vitest';
import { createLogger, silentLogger } from '../log.js';
import { GateRegistry, MountGate } from './write-gate.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('MountGate', () => {
  it('admits mutating operations at once while open', async () => {
    const gate = new MountGate({ log: silentLogger });
    const leave = await gate.enter();
    expect(gate.inFlight).toBe(1);
    leave();
    leave(); // idempotent
    expect(gate.inFlight).toBe(0);
    expect(gate.tryEnter()).not.toBeNull();
  });

  it('hold waits for in-flight operations to drain', async () => {
    const gate = new MountGate({ log: silentLogger });
    const leaveA = await gate.enter();
    const leaveB = await gate.enter();
    let held = false;
    const holding = gate.hold().then((r) => {
      held = true;
      return r;
    });
    await tick();
    expect(held).toBe(false);
    expect(gate.isClosed).toBe(true);
    leaveA();
    await tick();
    expect(held).toBe(false);
    leaveB();
    const release = await holding;
    expect(held).toBe(true);
    release();
  });

  it('a hold stops the bypass first, waits for its running answers, collects its writes as before the hold, and resumes it after dropping names', async () => {
    const gate = new MountGate({ log: silentLogger });
    const events: string[] = [];
    let running = 0;
    let allowed = false;
    const collected: (number | undefined)[] = [];
    gate.setBypass({
      stop: () => {
        allowed = false;
        events.push('stop');
        return running;
      },
      running: () => running,
      collect: (before) => {
        events.push(`collect with ${running} running`);
        collected.push(before);
      },
      resume: () => {
        allowed = true;
        events.push('resume');
      },
    });
    expect(allowed).toBe(true); // an open gate lets it answer at once
    gate.onNamesChanged(() => events.push('names'));
    running = 2; // two lstats on the FUSE thread right now
    let held = false;
    const holding = gate.hold().then((r) => ((held = true), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(allowed).toBe(false);
    expect(held).toBe(false); // still waiting for the running answers
    running = 0;
    const release = await holding;
    expect(held).toBe(true);
    release();
    expect(allowed).toBe(true);
    expect(events).toEqual(['resume', 'stop', 'collect with 0 running', 'names', 'resume']);
    expect(collected).toEqual([gate.lastHeldAt - 1]);
    // The announcer's collection: stamped now.
    gate.collectBypassWrites();
    expect(collected).toEqual([gate.lastHeldAt - 1, undefined]);
    // Set while a hold is active, it starts stopped.
    const again = await gate.hold();
    const late = { stop: vi.fn(() => 0), running: () => 0, collect: vi.fn(), resume: vi.fn() };
    gate.setBypass(late);
    expect(late.stop).toHaveBeenCalledTimes(1);
    expect(late.resume).not.toHaveBeenCalled();
    again();
    expect(late.resume).toHaveBeenCalledTimes(1);
  });

  it('closed gate makes enter wait until release, and release bumps the generation first', async () => {
    const gate = new MountGate({ log: silentLogger });
    const release = await gate.hold();
    expect(gate.tryEnter()).toBeNull();
    const gen0 = gate.generation;
    const order: string[] = [];
    const entering = gate.enter().then((leave) => {
      order.push(`entered gen=${gate.generation}`);
      leave();
    });
    await tick();
    expect(order).toEqual([]);
    release();
    release(); // idempotent: one bump only
    await entering;
    expect(order).toEqual([`entered gen=${gen0 + 1}`]);
    expect(gate.generation).toBe(gen0 + 1);
  });

  it('holds queue behind each other; an operation waits through consecutive holds', async () => {
    const gate = new MountGate({ log: silentLogger });
    const r1 = await gate.hold();
    let second = false;
    const h2 = gate.hold().then((r) => {
      second = true;
      return r;
    });
    let entered = false;
    const op = gate.enter().then((leave) => {
      entered = true;
      leave();
    });
    await tick();
    expect(second).toBe(false);
    r1();
    const r2 = await h2;
    await tick();
    // The second hold closed the gate before the waiting operation got in.
    expect(second).toBe(true);
    expect(entered).toBe(false);
    r2();
    await op;
    expect(entered).toBe(true);
    expect(gate.generation).toBe(2);
  });

  it('bounds the wait in enter: proceeds and warns after the timeout', async () => {
    vi.useFakeTimers();
    try {
      const lines: string[] = [];
      const gate = new MountGate({ log: createLogger((l) => lines.push(l), 'fuse'), enterTimeoutMs: 10_000 });
      const release = await gate.hold();
      let entered = false;
      const op = gate.enter().then((leave) => {
        entered = true;
        return leave;
      });
      await vi.advanceTimersByTimeAsync(9_000);
      expect(entered).toBe(false);
      await vi.advanceTimersByTimeAsync(1_500);
      const leave = await op;
      expect(entered).toBe(true);
      expect(gate.inFlight).toBe(1);
      expect(lines.some((l) => l.includes('WARN') && l.includes('write gate still closed'))).toBe(true);
      leave();
      release();
    } finally {
      vi.useRealTimers();
    }
  });

  it('bounds the drain wait in hold', async () => {
    vi.useFakeTimers();
    try {
      const lines: string[] = [];
      const gate = new MountGate({ log: createLogger((l) => lines.push(l), 'fuse'), drainTimeoutMs: 5_000 });
      const leave = await gate.enter(); // an operation that hangs
      let held = false;
      const holding = gate.hold().then((r) => {
        held = true;
        return r;
      });
      await vi.advanceTimersByTimeAsync(4_000);
      expect(held).toBe(false);
      await vi.advanceTimersByTimeAsync(2_000);
      const release = await holding;
      expect(lines.some((l) => l.includes('did not drain'))).toBe(true);
      leave();
      release();
      expect(gate.inFlight).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('GateRegistry', () => {
  it('holds the registered gate and gives unmounted workspaces an immediate hold', async () => {
    const reg = new GateRegistry();
    const gate = new MountGate({ log: silentLogger });
    reg.register('ws1', gate);
    const release = await reg.hold('ws1');
    expect(gate.isClosed).toBe(true);
    release();
    expect(gate.isClosed).toBe(false);
    const other = await reg.hold('nope');
    other();
    reg.unregister('ws1', new MountGate({ log: silentLogger })); // not the registered one: kept
    const kept = await reg.hold('ws1');
    expect(gate.isClosed).toBe(true);
    kept();
    reg.unregister('ws1');
    const gone = await reg.hold('ws1'); // forgotten: an immediate hold that closes nothing
    expect(gate.isClosed).toBe(false);
    gone();
  });
});
