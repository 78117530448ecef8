// The AWS SDK warns in every process and worker that Node 20 support ends in 2027; the deployed
// functions run on Node 24, so on a developer's machine the warning is noise. Other warnings still
// print. Plain JavaScript, so that the local Lambda workers (worker.mjs) load it without a TypeScript
// loader; quiet-warnings.ts loads it for the TypeScript entry points.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  const text = `${warning.name}: ${warning.message}`;
  if (!text.includes('NodeVersionSupportWarning')) console.warn(text);
});
