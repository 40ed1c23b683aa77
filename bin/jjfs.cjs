#!/usr/bin/env node
// The jjfs CLI: loads the one-file CommonJS bundle of the CLI (dist/cli.cjs, made by
// scripts/bundle-cli.mjs at build time) so that `jjfs --version` and `jjfs list` start about as
// fast as node itself. CommonJS on purpose: an ES module entry would start Node's ES module loader.
'use strict';

// The bundle require()s the ES-module packages it uses (execa, chrono-node) when a command needs
// them, which Node does since 20.19 / 22.12 (`process.features.require_module`).
if (!process.features.require_module) {
  process.stderr.write(`jjfs: Node ${process.versions.node} cannot run jjfs: it needs Node 20.19 or newer (22.12 or newer on Node 22).\n`);
  process.exit(1);
}
let cli;
try {
  cli = require('../dist/cli.cjs');
} catch (error) {
  if (!(error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes('cli.cjs'))) throw error;
  process.stderr.write('jjfs: dist/cli.cjs is missing: build jjfs first (npm run build).\n');
  process.exit(1);
}
cli.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
