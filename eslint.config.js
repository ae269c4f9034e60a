// ESLint flat config: eslint recommended + typescript-eslint recommended over src, test and bench.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**', '.ferry-data/**', 'bench/.tmp/**'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      // Type information for the rules that need it (no-floating-promises); one TypeScript program
      // from tsconfig.json serves every file.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits or handles turns its rejection into an unhandledRejection, which
      // is a process-level failure; every promise is awaited, handled, or `void` with a comment
      // saying why it cannot reject (docs/operations.md, "Unexpected errors").
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's test()/describe() return a promise that settles when the test is done and
          // never rejects (a failure is reported by the runner), so they need no await.
          // `void promise` is reported too: where a promise provably cannot reject, say why in an
          // eslint-disable comment ("-- cannot reject: ..."), so every discarded promise carries its reason.
          ignoreVoid: false,
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
