/**
 * Decoding the times fuse-native hands to `utimens`. The patched build (native-shims/build-fuse.mjs)
 * passes raw timespecs, so UTIME_NOW and UTIME_OMIT can be told apart; the stock build passes
 * milliseconds and atime twice (docs/fuse.md).
 */
import type { FuseTime } from './fuse-types.js';

const UTIME_NOW = 0x3fffffff;
const UTIME_OMIT = 0x3ffffffe;
/**
 * What the stock C code would make of UTIME_NOW and UTIME_OMIT alike: floor((2^30 - 1) / 1e6) ms.
 * Measured with the stock build, they never arrive: without `flag_utime_omit_ok` libfuse 2.9 drops
 * single-time changes and turns UTIME_NOW into the kernel's current time. Kept as a guard.
 */
const STOCK_SPECIAL_MS = 1073;

/** Decodes a raw timespec (patched build). */
export function decodeTimespec(sec: number, nsec: number): FuseTime {
  if (nsec === UTIME_NOW) return { kind: 'now' };
  if (nsec === UTIME_OMIT) return { kind: 'omit' };
  return { kind: 'set', sec, nsec };
}

/** A {@link FuseTime} back as the (tv_sec, tv_nsec) pair utimensat(2) takes (patched addon). */
export function rawTimespec(t: FuseTime): [number, number] {
  switch (t.kind) {
    case 'set':
      return [t.sec, t.nsec];
    case 'now':
      return [0, UTIME_NOW];
    case 'omit':
      return [0, UTIME_OMIT];
  }
}

/** Decodes the stock build's milliseconds; UTIME_NOW and UTIME_OMIT both look like 1073 ms. */
export function decodeStockMs(ms: number): FuseTime {
  if (ms === STOCK_SPECIAL_MS) return { kind: 'now' };
  return { kind: 'set', sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
}

/**
 * Turns a {@link FuseTime} into the seconds value `fs.utimes` takes. `currentSec` is the file's
 * present time (used for `omit`); `nowSec` defaults to the clock.
 */
export function fuseTimeToSeconds(t: FuseTime, currentSec: number, nowSec: number = Date.now() / 1000): number {
  switch (t.kind) {
    case 'set':
      return t.sec + t.nsec / 1e9;
    case 'now':
      return nowSec;
    case 'omit':
      return currentSec;
  }
}
