#!/usr/bin/env node
// The jjfs daemon. FUSE needs its environment (LD_LIBRARY_PATH with the libfuse.so.2 shim, a large
// libuv thread pool) before the process starts, so when started by hand without it, jjfsd runs
// itself again as a child with that environment and passes signals and the exit code through.
import { spawn } from 'node:child_process';

if (process.env.JJFS_DAEMON_ENV === '1') {
  await import('../dist/daemon/main.js');
} else {
  const { resolvePaths } = await import('../dist/config/paths.js');
  const { daemonEnv, DAEMON_ENTRY } = await import('../dist/launch/daemon-env.js');
  const env = await daemonEnv(resolvePaths());
  const child = spawn(process.execPath, [DAEMON_ENTRY, ...process.argv.slice(2)], { stdio: 'inherit', env });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 128 : 1);
  });
}
