import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { distPath, PACKAGE_ROOT } from './package-root.js';

describe('PACKAGE_ROOT', () => {
  it('is the folder holding jjfs package.json, and dist paths hang below it', () => {
    const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { name: string };
    expect(pkg.name).toBe('jjfs');
    expect(distPath('daemon', 'main.js')).toBe(path.join(PACKAGE_ROOT, 'dist', 'daemon', 'main.js'));
  });
});
