// Shared helpers for the benchmarks: temp jjfs homes, the CLI, percentiles, /proc readings.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(ROOT, 'bin', 'jjfs.cjs');

/**
 * Reads a benchmark's options before anything starts, so a mistyped option never starts a default
 * run. `spec` maps each option to its default: a number (the value must be a number ≥ 0), a string,
 * or false (a flag without a value). `--help` prints the usage and exits 0; an option not in spec,
 * a missing value or a bad number prints what is wrong and the usage, and exits 2.
 */
export function benchOptions(usage, spec) {
  /** @type {Record<string, { type: 'string' | 'boolean' }>} */
  const options = { help: { type: 'boolean' } };
  for (const [name, dflt] of Object.entries(spec)) options[name] = dflt === false ? { type: 'boolean' } : { type: 'string' };
  const fail = (message) => {
    process.stderr.write(`${message}\nusage: ${usage}\n`);
    process.exit(2);
  };
  let values = {};
  try {
    ({ values } = parseArgs({ options, strict: true, allowPositionals: false }));
  } catch (error) {
    fail(error.message);
  }
  if (values.help) {
    process.stdout.write(`usage: ${usage}\n`);
    process.exit(0);
  }
  const out = {};
  for (const [name, dflt] of Object.entries(spec)) {
    const given = values[name];
    if (dflt === false) out[name] = given === true;
    else if (given === undefined) out[name] = dflt;
    else if (typeof dflt !== 'number') out[name] = given;
    else if (given.trim() === '' || !(Number(given) >= 0)) fail(`--${name} takes a number (≥ 0), not "${given}"`);
    else out[name] = Number(given);
  }
  return out;
}

/** A temp JJFS_HOME with a CLI runner; `close()` stops the daemon and removes everything. */
export function jjfsHome(prefix = 'jjfs-bench-') {
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  const home = path.join(root, 'home');
  const env = { ...process.env, JJFS_HOME: home, NO_COLOR: '1' };
  const run = (args) =>
    new Promise((resolve, reject) =>
      execFile(process.execPath, [CLI, ...args], { env, cwd: root, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
        err ? reject(new Error(`jjfs ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
      ),
    );
  const json = async (args) => JSON.parse(await run([...args, '--json']));
  const pid = () => {
    try {
      return JSON.parse(readFileSync(path.join(home, 'daemon.json'), 'utf8')).pid;
    } catch {
      return undefined;
    }
  };
  return {
    root,
    home,
    env,
    run,
    json,
    pid,
    async close() {
      await run(['stop']).catch(() => undefined);
      const p = pid();
      if (p) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
        const mp = line.split(' ')[1];
        if (mp && mp.startsWith(`${root}/`)) {
          try {
            execFileSync('umount', ['-l', mp]);
          } catch {
            // not mounted any more
          }
        }
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Times `fn` in ms. */
export async function timed(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const median = (v) => percentile(v, 50);
export const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

/** Resident set size of `pid` in MiB. */
export function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU time (user + system) of `pid` in ms. */
export function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Prints an aligned table. */
export function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  for (const r of all) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '));
}
