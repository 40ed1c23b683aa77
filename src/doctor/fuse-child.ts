/**
 * Run by `jjfs doctor` as a child process started with the daemon's environment (LD_LIBRARY_PATH
 * with the libfuse shim, thread pool): can fuse-native be loaded the way jjfsd loads it? Prints one
 * JSON line on stdout (this program's only output; it is not part of the daemon or the CLI).
 */
import { loadFuse } from '../fs/fuse-loader.js';

/** What the child reports. */
export type FuseChildReport = { ok: true; source: 'patched' | 'prebuild'; mtimeFixed: boolean } | { ok: false; error: string };

let report: FuseChildReport;
try {
  const binding = loadFuse();
  report = { ok: true, source: binding.source, mtimeFixed: binding.mtimeFixed };
} catch (error) {
  report = { ok: false, error: error instanceof Error ? error.message : String(error) };
}
process.stdout.write(`${JSON.stringify(report)}\n`);
