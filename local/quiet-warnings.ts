/**
 * The AWS SDK warns on every process that Node 20 support ends in 2027; the deployed functions run on
 * Node 24, so on a developer's machine the warning is noise. Other warnings still print.
 */
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  const text = `${warning.name}: ${warning.message}`;
  if (!text.includes('NodeVersionSupportWarning')) console.warn(text);
});
