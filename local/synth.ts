import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

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
  options.log?.('Synthesizing the CDK app (infra/app.ts) …');
  const shim = npxShim();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'infra', 'app.ts')], {
      cwd: projectRoot,
      env: {
        ...process.env,
        ...shim.env,
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
    child.on('exit', () => shim.remove());
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
 * NodejsFunction bundles each function by running `npx --no-install esbuild …`, and npm's own start-up
 * costs about half a second per bundle. For the local synth only, a shim first on PATH runs the
 * project's esbuild directly for exactly that command line (same binary, same arguments, same output)
 * and hands anything else to the real npx.
 */
const npxShim = (): { env: Record<string, string>; remove(): void } => {
  const realNpx = (process.env.PATH ?? '')
    .split(path.delimiter)
    .map((dir) => path.join(dir, 'npx'))
    .find((candidate) => existsSync(candidate));
  if (realNpx === undefined) return { env: {}, remove: () => undefined };
  const esbuild = path.join(
    path.dirname(createRequire(import.meta.url).resolve('esbuild/package.json')),
    'bin',
    'esbuild',
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'civic-npx-'));
  const script = [
    '#!/bin/sh',
    `if [ "$1" = "--no-install" ] && [ "$2" = "esbuild" ]; then shift 2; exec ${JSON.stringify(esbuild)} "$@"; fi`,
    `exec ${JSON.stringify(realNpx)} "$@"`,
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'npx'), script);
  chmodSync(path.join(dir, 'npx'), 0o755);
  return {
    env: { PATH: `${dir}${path.delimiter}${process.env.PATH ?? ''}` },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
};
