/**
 * Bundles one function: `tsx infra/bundle.ts < request.json` (the request on stdin). CivicFunction's asset runs it during
 * synth (CDK's local bundling is synchronous, esbuild's plugins need its asynchronous API, hence a
 * process). The options are BUNDLING's, the same for every function; the plugins are in
 * esbuild-plugins.ts.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { BUNDLING, PROJECT_ROOT } from './bundling.js';
import { literalSchemaTraitKeys, sideEffectFree } from './esbuild-plugins.js';

export interface BundleRequest {
  /** Absolute path of the handler module. */
  entry: string;
  /** The asset directory CDK stages; the bundle is written as index.mjs (+ its source map). */
  outputDir: string;
  define?: Record<string, string>;
}

export const bundleFunction = async (request: BundleRequest): Promise<void> => {
  await build({
    entryPoints: [request.entry],
    outfile: path.join(request.outputDir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    target: BUNDLING.target,
    format: BUNDLING.format,
    minify: BUNDLING.minify,
    sourcemap: BUNDLING.sourceMap,
    // Stack traces need the mappings only; the sources' text would triple the map Node parses at start.
    sourcesContent: false,
    mainFields: [...BUNDLING.mainFields],
    banner: { js: BUNDLING.banner },
    alias: Object.fromEntries(
      Object.entries(BUNDLING.alias).map(([module, file]) => [module, path.join(PROJECT_ROOT, file)]),
    ),
    define: request.define ?? {},
    plugins: [literalSchemaTraitKeys, ...BUNDLING.sideEffectFreePackages.map(sideEffectFree)],
    logLevel: 'warning',
  });
};

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const request = JSON.parse(readFileSync(0, 'utf8')) as BundleRequest;
  await bundleFunction(request);
}
