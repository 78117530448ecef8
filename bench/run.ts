import '../local/quiet-warnings.js';
/** `npm run bench`: every benchmark, in memory on this machine, printing its figures. */
import { runFoundationBench } from './foundation.js';
import { runRegistryBench } from './registry.js';
import { runViolationsBench } from './violations.js';

const started = performance.now();
console.log(`civic-cell benchmarks — Node ${process.version}, ${new Date().toISOString()}`);
await runFoundationBench();
await runRegistryBench();
await runViolationsBench({ ratePerSecond: 200 });
console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
process.exit(0);
