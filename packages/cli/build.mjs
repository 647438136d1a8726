// Emits the CLI as JavaScript, dist/main.js (and chunks), which bin/skyway runs:
// compiling the TypeScript at every start (tsx) cost each call 1.2-1.9 s.
// Skyway's own packages are bundled in; npm dependencies stay external and load
// from node_modules as usual (native modules such as better-sqlite3 included).
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/** import.meta.url keeps naming the source file, so files found beside it (plugin.yaml) still are. */
const sourceUrl = {
  name: 'source-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /[\\/](packages|plugins)[\\/][^\\/]+[\\/]src[\\/].*\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const url = JSON.stringify(pathToFileURL(args.path).href);
      return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

/** Everything but @skyway/* (and relative paths) is an npm dependency: left to node_modules. */
const externalDeps = {
  name: 'external-deps',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@skyway/') ? undefined : { path: args.path, external: true },
    );
  },
};

await rm(join(here, 'dist'), { recursive: true, force: true }); // no stale chunks
await build({
  entryPoints: [join(here, 'src/main.ts')],
  outdir: join(here, 'dist'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  // Commands import what they run (the controller, the agent) when they run: own chunks.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node22',
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [sourceUrl, externalDeps],
});
