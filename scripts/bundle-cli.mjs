#!/usr/bin/env node
// Bundles the CLI (dist/cli/main.js and every module of ours it imports, lazy command modules
// included) into one CommonJS file, dist/cli.cjs, which bin/jjfs.cjs loads. Run by `npm run build`
// after tsc.
//
// Why: start-up. Node 20 pays for every ES module it loads (an asynchronous read, parse, link and
// evaluate each) and for starting its ES module loader at all; `jjfs list` loaded 16 of them.
// One CommonJS file costs one synchronous read. Command modules stay lazy inside the bundle
// (esbuild wraps each in an init function that runs on first import), so `jjfs list` runs only
// list's code. npm packages stay outside (`packages: 'external'`): they are required when a command
// first needs them; execa and chrono-node are ES modules, which require() loads since Node 20.19
// (package.json `engines`). Measured with `node bench/cli-latency.mjs`.
//
// In the bundle every module's import.meta.url is the bundle's own, so code that finds files of the
// package goes through src/package-root.ts, never through a path relative to its own module.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: [path.join(root, 'dist', 'cli', 'main.js')],
  outfile: path.join(root, 'dist', 'cli.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  // CommonJS has no import.meta: give the bundle's own URL to the modules that ask for it.
  banner: { js: "const __jjfsBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__jjfsBundleUrl' },
  logLevel: 'warning',
});
