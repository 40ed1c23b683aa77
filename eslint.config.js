// ESLint flat config. TypeScript (src/, test/) gets typescript-eslint's type-checked rules through
// the project service (tsconfig.json covers both folders); plain JS (bench/, bin/, test helpers,
// native-shims/) gets the JS rules only, because it has no types to check against.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** The Node globals the plain-JS scripts use (no `globals` dependency for a dozen names). */
const nodeGlobals = Object.fromEntries(
  [
    'AbortController',
    'Buffer',
    'clearInterval',
    'clearTimeout',
    'console',
    'performance',
    'process',
    'queueMicrotask',
    'setImmediate',
    'setInterval',
    'setTimeout',
    'structuredClone',
    'TextDecoder',
    'TextEncoder',
    'URL',
  ].map((name) => [name, 'readonly']),
);

export default defineConfig(
  // native-shims/build/ is fuse-native's source, copied and patched at install time (gitignored).
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'native-shims/build/'] },

  js.configs.recommended,
  {
    rules: {
      // A `let` that a closure reads before its one assignment (a forward reference, e.g. the
      // watcher's subscriber set up before the service it calls) cannot be a const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },

  {
    files: ['src/**/*.ts', 'test/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // An unhandled rejection kills the daemon: every promise is awaited, returned, or marked
      // fire-and-forget with `void` (the house way; `ignoreVoid` is the rule's default, kept).
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      // RPC handler tables and injected callbacks are async by contract (they return a promise
      // whether or not they await); dropping `async` would mean wrapping results in Promise.resolve.
      '@typescript-eslint/require-await': 'off',
      // A caught error is `unknown`; passing it on to reject() as it came is the point.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },

  {
    files: ['src/**/*.test.ts', 'test/**/*.ts'],
    rules: {
      // vitest's asymmetric matchers (expect.any, expect.stringMatching, …) are typed `any`, and
      // tests compare parsed JSON against literals: these two rules would flag every such use.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },

  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { sourceType: 'module', globals: nodeGlobals },
  },

  {
    // bin/jjfs.cjs: CommonJS on purpose (start-up time; see the file).
    files: ['**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { sourceType: 'commonjs', globals: { ...nodeGlobals, require: 'readonly', module: 'writable', __filename: 'readonly', __dirname: 'readonly' } },
  },
);
