// Type-aware linting would double CI time on 2 cores; the compiler in strict mode covers types (npm run typecheck).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.state/', '.cache/', 'data/', 'bench/models/', 'drift-monitor/dashboard/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', fetch: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly' } },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  { files: ['test/**', 'bench/**', 'scripts/**', 'demo/**', 'stack/**', '**/*.test.ts'], rules: { 'no-console': 'off' } },
  // The gateway's page runs in the browser.
  { files: ['gateway/page/*.js'], languageOptions: { globals: { document: 'readonly', sessionStorage: 'readonly', performance: 'readonly', TextEncoder: 'readonly' } } },
);
