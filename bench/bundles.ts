/**
 * Lambda bundles: for every function of the synthesized template, the size of its minified bundle and
 * the time its module takes to initialise in a fresh Node process (p50 and worst over several), beside
 * the targets (≤ 500 KB, ≤ 100 ms). Init is the import of the bundle with the function's own
 * environment, as a cold start does before the first invocation; nothing is invoked.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { PROJECT_ROOT, STACK_NAME } from '../local/cloud.js';
import { localCredentials } from '../local/dynamodb.js';
import { localSecretValues, resolveSecretReferences } from '../local/secrets.js';
import { ensureSynthesized } from '../local/synth.js';
import { LOCAL_REGION, loadTemplate, readStack } from '../local/template.js';
import { ms, percentile, printFigures } from './support.js';

const MAX_KB = 500;
const MAX_INIT_MS = 100;
const run = promisify(execFile);

/** One fresh Node: imports the bundle and prints how long the import took. */
const initOnce = async (file: string, environment: Record<string, string>) => {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: ':UTC', ...environment },
  });
  return Number(stdout);
};

export const runBundlesBench = async (options: { processes?: number } = {}): Promise<void> => {
  const processes = options.processes ?? 7;
  const cdkOut = path.join(PROJECT_ROOT, 'cdk.out');
  await ensureSynthesized({ projectRoot: PROJECT_ROOT, cdkOut, stackName: STACK_NAME, log: () => undefined });
  const stack = readStack(loadTemplate(cdkOut, STACK_NAME), {
    stackName: STACK_NAME,
    cdkOut,
    endpoints: { apiUrl: 'http://127.0.0.1:1', sqsUrl: 'http://127.0.0.1:1' },
  });
  const scratch = mkdtempSync(path.join(tmpdir(), 'civic-bench-bundles-'));
  try {
    const secrets = localSecretValues(scratch, stack.secrets);
    const functions = [...stack.functions]
      .sort((a, b) => (a.logicalId < b.logicalId ? -1 : 1))
      .map((fn) => ({
        name: fn.logicalId.replace(/[0-9A-F]{8}$/, ''),
        file: path.join(fn.assetDir, fn.moduleFile),
        environment: {
          AWS_REGION: LOCAL_REGION,
          AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
          AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
          ...resolveSecretReferences(fn.environment, secrets),
        },
        samples: [] as number[],
      }));
    // A fresh Node importing an empty module: what every figure includes besides the bundle, and how
    // fast this machine is during the run.
    const empty = path.join(scratch, 'empty.mjs');
    writeFileSync(empty, '');
    const baseline: number[] = [];
    // Round by round, every function once per round: this machine's speed drifts by tens of percent over
    // a minute, and a drift then spreads over all functions instead of landing on a few.
    for (let round = 0; round < processes; round++) {
      for (const fn of functions) fn.samples.push(await initOnce(fn.file, fn.environment));
      baseline.push(await initOnce(empty, {}));
      process.stderr.write(`\r  bundles: round ${round + 1} of ${processes}`);
    }
    process.stderr.write('\n');
    const figures = [];
    let within = 0;
    for (const fn of functions) {
      const kb = statSync(fn.file).size / 1024;
      const p50 = percentile(fn.samples, 50);
      const ok = kb <= MAX_KB && p50 <= MAX_INIT_MS;
      if (ok) within++;
      figures.push({
        name: fn.name,
        value: `${kb.toFixed(0).padStart(4)} KB   init p50 ${ms(p50)}, worst ${ms(Math.max(...fn.samples))}`,
        note: ok
          ? 'within'
          : `OVER: ${kb > MAX_KB ? `size > ${MAX_KB} KB ` : ''}${p50 > MAX_INIT_MS ? `init > ${MAX_INIT_MS} ms` : ''}`.trim(),
      });
    }
    figures.push({
      name: 'an empty module',
      value: `init p50 ${ms(percentile(baseline, 50))}`,
      note: 'the same measurement of a module with no code, in the same rounds',
    });
    figures.push({
      name: 'within both targets',
      value: `${within} of ${functions.length}`,
      note: `≤ ${MAX_KB} KB minified, module init p50 ≤ ${MAX_INIT_MS} ms over ${processes} fresh processes each`,
    });
    printFigures('Lambda bundles (issue 17) — this machine, Node ' + process.version, figures);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
};
