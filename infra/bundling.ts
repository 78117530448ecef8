/**
 * How every function is bundled, and the asset hash that lets CDK reuse an unchanged bundle from
 * cdk.out instead of bundling it again (which keeps synth and the local cloud's start fast).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FUNCTIONS_ROOT = path.join(PROJECT_ROOT, 'functions');

export const BUNDLING = {
  target: 'node24',
  format: 'esm',
  minify: true,
  sourceMap: true,
  mainFields: ['module', 'main'],
  /** Modules replaced in every bundle (see functions/shared/lambda-credentials.ts). */
  alias: { '@aws-sdk/credential-provider-node': 'functions/shared/lambda-credentials.ts' },
  /** Packages whose modules esbuild may drop when nothing imports from them (esbuild-plugins.ts). */
  sideEffectFreePackages: ['dynamodb-toolbox'],
  /** ESM bundles of CommonJS dependencies still call require() for Node built-ins. */
  banner:
    "import { createRequire as __civicCreateRequire } from 'node:module'; const require = __civicCreateRequire(import.meta.url);",
} as const;

let digest: string | undefined;

/** The bundler itself: a change to it rebuilds every bundle. */
const BUNDLER_FILES = ['infra/bundling.ts', 'infra/bundle.ts', 'infra/esbuild-plugins.ts'];

/** A digest of everything a bundle can contain: the function sources, the lock file and the bundler. */
export const sourcesDigest = (): string => {
  if (digest !== undefined) return digest;
  const hash = createHash('sha256').update(JSON.stringify(BUNDLING));
  const files = readdirSync(FUNCTIONS_ROOT, { recursive: true, withFileTypes: true })
    .filter(
      (entry) => entry.isFile() && /\.(ts|js|mjs|json)$/.test(entry.name) && !entry.name.endsWith('.test.ts'),
    )
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
  for (const file of [
    ...files,
    path.join(PROJECT_ROOT, 'package-lock.json'),
    ...BUNDLER_FILES.map((file) => path.join(PROJECT_ROOT, file)),
  ]) {
    hash.update(path.relative(PROJECT_ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  digest = hash.digest('hex');
  return digest;
};

/**
 * The asset hash of a handler module (relative to functions/): CDK skips bundling when the asset
 * folder for it already exists in cdk.out.
 */
export const assetHashFor = (entry: string): string =>
  createHash('sha256').update(sourcesDigest()).update(entry.split(path.sep).join('/')).digest('hex');
