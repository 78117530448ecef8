import '../local/quiet-warnings.js';
/**
 * `npm run bench`: every benchmark, in memory on this machine, printing its figures. Each part runs in
 * a process of its own, as it would alone: what one part leaves behind (a heap grown by 5,000 units,
 * sockets and timers closing, a JVM exiting) is not charged to the next.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runBundlesBench } from './bundles.js';
import { runFoundationBench } from './foundation.js';
import { runMeetingsBench } from './meetings.js';
import { runRegistryBench } from './registry.js';
import { runViolationsBench } from './violations.js';

const PARTS: Record<string, () => Promise<void>> = {
  bundles: () => runBundlesBench(),
  foundation: () => runFoundationBench(),
  registry: () => runRegistryBench(),
  violations: () => runViolationsBench({ ratePerSecond: 200 }),
  meetings: () => runMeetingsBench(),
};

const part = process.argv[2];
if (part !== undefined) {
  const run = PARTS[part];
  if (run === undefined)
    throw new Error(`No benchmark part ${part}: one of ${Object.keys(PARTS).join(', ')}`);
  await run();
  process.exit(0);
}

const started = performance.now();
console.log(`civic-cell benchmarks — Node ${process.version}, ${new Date().toISOString()}`);
for (const name of Object.keys(PARTS)) {
  // The same Node, with the same loader (tsx) this process runs under.
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), name], {
    stdio: 'inherit',
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) {
    console.error(`The ${name} benchmark failed (exit code ${code}).`);
    process.exit(1);
  }
}
console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
process.exit(0);
