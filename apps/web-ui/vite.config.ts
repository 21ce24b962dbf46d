import { builtinModules } from 'node:module';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/** Modules that only run in Node: the browser bundle must never reach them (types are fine: they are erased). */
const NODE_ONLY = new Set([
  '@idra/core',
  '@idra/connectors',
  '@idra/testkit',
  'etcd3',
  'pg',
  'mysql2',
  'better-sqlite3',
  'tedious',
  'mongodb',
  'kafkajs',
  ...builtinModules,
]);
/** Entries of those packages made for the browser (no Node module behind them): the UI imports them by value. */
const BROWSER_ENTRIES = new Set(['@idra/core/model', '@idra/core/health', '@idra/core/bulk']);

function browserOnly(): Plugin {
  return {
    name: 'idra-browser-only',
    enforce: 'pre',
    resolveId(id, importer) {
      const bare = id.startsWith('node:')
        ? id
        : id
            .split('/')
            .slice(0, id.startsWith('@') ? 2 : 1)
            .join('/');
      if (id.startsWith('node:') || (NODE_ONLY.has(bare) && !BROWSER_ENTRIES.has(id))) {
        this.error(
          `${importer ?? 'the UI'} imports '${id}', which runs only in Node: use \`import type\`, a browser entry (${[...BROWSER_ENTRIES].join(', ')}) or an API call`,
        );
      }
      return null;
    },
  };
}

/** `pnpm --filter @idra/web-ui dev` proxies /api to IDRA_API_URL (default a local API server on 8080). */
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [browserOnly(), react()],
  // No source map in production unless asked (IDRA_UI_SOURCEMAP=1): 2 MB nobody downloads but a debugger.
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: process.env.IDRA_UI_SOURCEMAP === '1', target: 'es2022' },
  server: { proxy: { '/api': { target: process.env.IDRA_API_URL ?? 'http://127.0.0.1:8080', changeOrigin: true } } },
  preview: { proxy: { '/api': { target: process.env.IDRA_API_URL ?? 'http://127.0.0.1:8080', changeOrigin: true } } },
});
