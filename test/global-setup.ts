import * as path from 'node:path';
import { ensureSynthesized } from '../local/synth.js';

/** Synthesizes once for the whole run, so test files that start a local cloud never race on cdk.out. */
export default async function setup(): Promise<void> {
  const projectRoot = path.resolve(import.meta.dirname, '..');
  const started = Date.now();
  const { synthesized } = await ensureSynthesized({
    projectRoot,
    cdkOut: path.join(projectRoot, 'cdk.out'),
    stackName: 'CivicCell',
    log: (line) => console.log(`[global-setup] ${line}`),
  });
  if (synthesized)
    console.log(`[global-setup] synthesized in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
