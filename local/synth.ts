import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { assetHashFor, BUNDLING, FUNCTIONS_ROOT, handlerEntries } from '../infra/bundling.js';

const DIGEST_FILE = '.civic-source-digest';
/** Bump when the way the local cloud synthesizes changes. */
const SYNTH_VERSION = 'direct-app-asset-metadata-v2';

/** A digest of everything the template and its bundles are made from. */
export const sourceDigest = (projectRoot: string): string => {
  const hash = createHash('sha256').update(SYNTH_VERSION);
  const files: string[] = [];
  for (const folder of ['infra', 'functions']) {
    for (const entry of readdirSync(path.join(projectRoot, folder), {
      recursive: true,
      withFileTypes: true,
    })) {
      if (entry.isFile() && !entry.name.endsWith('.test.ts'))
        files.push(path.join(entry.parentPath, entry.name));
    }
  }
  files.sort();
  for (const file of [
    ...files,
    path.join(projectRoot, 'package-lock.json'),
    path.join(projectRoot, 'cdk.json'),
  ]) {
    if (!existsSync(file)) continue;
    hash.update(path.relative(projectRoot, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
};

/**
 * Synthesizes the CDK app into cdk.out unless the template there was made from the same sources. Runs
 * the app directly (what `cdk synth` does under the hood) without cdk-nag and CDK's template validation,
 * which only read the template and cannot change it; `npm run synth` and the template tests run them.
 */
export const ensureSynthesized = async (options: {
  projectRoot: string;
  cdkOut: string;
  stackName: string;
  force?: boolean;
  log?: (line: string) => void;
}): Promise<{ synthesized: boolean }> => {
  const { projectRoot, cdkOut, stackName } = options;
  const digest = sourceDigest(projectRoot);
  const digestPath = path.join(cdkOut, DIGEST_FILE);
  const templatePath = path.join(cdkOut, `${stackName}.template.json`);
  if (
    !options.force &&
    existsSync(templatePath) &&
    existsSync(digestPath) &&
    readFileSync(digestPath, 'utf8') === digest
  ) {
    return { synthesized: false };
  }
  const bundled = await prebundle(cdkOut);
  if (bundled > 0) options.log?.(`Bundled ${bundled} handler module(s) with esbuild`);
  options.log?.('Synthesizing the CDK app (infra/app.ts) …');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'infra', 'app.ts')], {
      cwd: projectRoot,
      env: {
        ...process.env,
        CDK_OUTDIR: cdkOut,
        CIVIC_SKIP_NAG: '1',
        // CDK's built-in template validation (3 s here) only reads the template, like cdk-nag.
        CDK_VALIDATION: 'false',
        // What the cdk CLI sets: asset metadata is how the local cloud finds each function's bundle.
        CDK_CONTEXT_JSON: JSON.stringify({
          'aws:cdk:enable-asset-metadata': true,
          'aws:cdk:enable-path-metadata': true,
        }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      output.push(chunk.toString());
      for (const line of chunk.toString().split('\n')) {
        if (line.startsWith('Bundling asset')) options.log?.(`  ${line.trim()}`);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`Synthesis failed (exit ${code}):\n${output.join('').slice(-4000)}`)),
    );
  });
  writeFileSync(digestPath, digest);
  return { synthesized: true };
};

/**
 * Bundles every handler module that has no asset yet, all at once, into the asset folder CDK would
 * bundle it into (same esbuild options, same asset hash: infra/bundling.ts). CDK finds the folder and
 * skips its own bundling, which runs one function after another through npx.
 */
export const prebundle = async (cdkOut: string): Promise<number> => {
  mkdirSync(cdkOut, { recursive: true });
  const missing = handlerEntries()
    .map((entry) => ({ entry, dir: path.join(cdkOut, `asset.${assetHashFor(entry)}`) }))
    .filter(({ dir }) => !existsSync(dir));
  await Promise.all(
    missing.map(async ({ entry, dir }) => {
      const building = `${dir}-building`;
      rmSync(building, { recursive: true, force: true });
      await build({
        entryPoints: [path.join(FUNCTIONS_ROOT, entry)],
        outfile: path.join(building, 'index.mjs'),
        bundle: true,
        platform: 'node',
        format: BUNDLING.format,
        target: BUNDLING.target,
        minify: BUNDLING.minify,
        sourcemap: BUNDLING.sourceMap,
        mainFields: [...BUNDLING.mainFields],
        banner: { js: BUNDLING.banner },
        logLevel: 'warning',
      });
      renameSync(building, dir);
    }),
  );
  return missing.length;
};
