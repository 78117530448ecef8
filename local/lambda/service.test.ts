import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LambdaService } from './service.js';

// A function that raises the AWS SDK's Node-version warning, then another warning, then answers.
const HANDLER = `
export const handler = async () => {
  process.emitWarning('support for Node 20 ends', 'NodeVersionSupportWarning');
  process.emitWarning('an old API was used', 'DeprecationWarning');
  return { ok: true };
};
`;
const assetDir = mkdtempSync(path.join(tmpdir(), 'civic-lambda-'));
writeFileSync(path.join(assetDir, 'index.mjs'), HANDLER);

describe('local Lambda execution environment', () => {
  const lines: string[] = [];
  const lambda = new LambdaService(
    [
      {
        logicalId: 'warner',
        functionName: 'warner',
        arn: 'arn:aws:lambda:us-east-1:000000000000:function:warner',
        assetDir,
        moduleFile: 'index.mjs',
        exportName: 'handler',
        environment: {},
        timeoutSeconds: 10,
        memorySize: 128,
        maximumRetryAttempts: 0,
      },
    ],
    { baseEnvironment: { PATH: process.env.PATH ?? '' }, functionLog: (_name, line) => lines.push(line) },
  );
  afterAll(async () => {
    await lambda.stop();
    rmSync(assetDir, { recursive: true, force: true });
  });

  it("keeps the SDK's Node-version warning out of the function's log, and every other warning in", async () => {
    await expect(lambda.invoke('warner', {})).resolves.toEqual({ ok: true });
    // Warnings are emitted on a later tick and travel on the worker's stderr: wait for the second one,
    // which is printed after the first would have been.
    const deadline = Date.now() + 10_000;
    while (!lines.some((line) => line.includes('DeprecationWarning')) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(lines.filter((line) => line.includes('DeprecationWarning: an old API was used'))).toHaveLength(1);
    expect(lines.filter((line) => line.includes('NodeVersionSupportWarning'))).toEqual([]);
  });
});
