// Lint rules that guard what the type checker cannot: promises nobody awaits or handles (a
// rejected one ends the process), import cycles, and the package boundaries of the workspace
// (`apps/* → packages/connectors → packages/core`; the web UI takes browser-safe entries only).
// Formatting is Prettier's job (`.prettierrc.json`), not ESLint's.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';

/** No reaching into another package's files: a package is used through its `exports`. */
const crossPackagePaths = {
  group: ['**/packages/*/src/**', '@idra/*/src/**', '**/apps/*/src/**'],
  message: 'import a package through its name and exports (e.g. @idra/core/model), not its files',
};

/** `no-restricted-imports` options: the cross-package rule plus what a layer must not depend on. */
function boundaries(...forbidden) {
  return ['error', { patterns: [crossPackagePaths, ...forbidden] }];
}

const notAbove = (names, why) => ({ group: names, message: why });

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', 'test-artifacts/**', '**/*.js', '**/*.cjs', '**/*.mjs', 'apps/web-ui/vite.config.ts'],
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX },
    settings: {
      'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.tsx', '.js'] })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // React event handlers may be async: a handler's returned promise is not a bug there.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'no-restricted-imports': boundaries(),
    },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': boundaries(notAbove(['@idra/connectors', '@idra/connectors/*', '@idra/api-client'], 'core depends on no other Idra package')),
    },
  },
  {
    files: ['packages/connectors/src/**/*.ts'],
    ignores: ['**/*.test.ts', 'packages/connectors/src/testing/**'],
    rules: {
      'no-restricted-imports': boundaries(notAbove(['@idra/api-client', '@idra/testkit'], 'connectors depend on core only (test support lives in testing/)')),
    },
  },
  {
    files: ['apps/web-ui/src/**/*.ts', 'apps/web-ui/src/**/*.tsx'],
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'error' },
  },
  {
    files: ['apps/web-ui/src/**/*.ts', 'apps/web-ui/src/**/*.tsx'],
    ignores: ['**/*.test.ts', '**/*.test.tsx', 'apps/web-ui/src/testing/**'],
    rules: {
      'no-restricted-imports': boundaries(
        notAbove(['@idra/connectors', '@idra/connectors/*', '@idra/testkit'], 'the web UI runs in a browser: Node-only packages are not bundled'),
        {
          regex: '^@idra/core$',
          allowTypeImports: true,
          message: 'the web UI imports values only from the browser-safe entries of core (@idra/core/model, /health, /bulk)',
        },
      ),
    },
  },
);
