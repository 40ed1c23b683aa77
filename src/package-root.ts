import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root folder (the one holding package.json), found by walking up from this module
 * rather than by a fixed `../..`: the CLI runs as one bundle (dist/cli.cjs, see
 * scripts/bundle-cli.mjs), where every module sees the bundle's location, not the folder under
 * dist/ it was compiled to. From src/ (tests), dist/ and the bundle alike, the walk ends at the root.
 */
export const PACKAGE_ROOT: string = findRoot(path.dirname(fileURLToPath(import.meta.url)));

/** A file the build put under dist/ (e.g. `distPath('daemon', 'main.js')`). */
export function distPath(...segments: string[]): string {
  return path.join(PACKAGE_ROOT, 'dist', ...segments);
}

function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`jjfs: no package.json above ${start}; the installation is incomplete`);
  }
}
