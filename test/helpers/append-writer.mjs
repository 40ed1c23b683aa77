#!/usr/bin/env node
// Appends numbered lines to files inside jjfs mounts, for the crash test.
// argv[2]: JSON { files: string[], tag: string[], pauseMs: number }. Line n goes to files[n % k] as
// "<tag> <n> <padding>\n". Protocol on stdout: "ok <n>" after a write RETURNED SUCCESS (only those
// count), "err <n> <code>" after a failed one. On a failure the writer stops and waits for "resume"
// on stdin, then retries the same line (the daemon is being restarted meanwhile). stdin commands:
// "pause" (answered with "paused" once no write is in flight), "resume", "stop".
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const { files, tags, pauseMs } = JSON.parse(process.argv[2]);
let paused = false;
let stopping = false;
let n = 0;
const padding = 'x'.repeat(40);

const rl = createInterface({ input: process.stdin });
rl.on('line', (cmd) => {
  if (cmd === 'pause') {
    paused = true;
    // Writes are synchronous, so when this runs no write is in flight.
    process.stdout.write('paused\n');
  } else if (cmd === 'resume') {
    paused = false;
    setImmediate(loop);
  } else if (cmd === 'stop') {
    stopping = true;
    rl.close();
    process.stdout.write('stopped\n');
  }
});

function loop() {
  if (paused || stopping) return;
  const k = n % files.length;
  try {
    appendFileSync(files[k], `${tags[k]} ${n} ${padding}\n`);
    process.stdout.write(`ok ${n}\n`);
    n += 1;
  } catch (error) {
    process.stdout.write(`err ${n} ${error.code ?? error.message}\n`);
    paused = true; // retried after "resume"
    return;
  }
  setTimeout(loop, pauseMs);
}

setImmediate(loop);
