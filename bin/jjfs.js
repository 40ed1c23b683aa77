#!/usr/bin/env node
// The jjfs CLI. Kept tiny so that `jjfs --version` and `jjfs list` start fast.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
