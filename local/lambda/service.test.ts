import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalClock } from '../clock.js';
import type { FunctionSpec } from '../template.js';
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

// A function that reports what its Date says: the clock's readings, and what must not move with them.
const CLOCK_HANDLER = `
class Stamp extends Date {}
export const handler = async (_event, context) => ({
  now: Date.now(),
  constructed: new Date().getTime(),
  called: Date(),
  stamp: new Stamp().getTime(),
  remainingMs: context.getRemainingTimeInMillis(),
  fixed: {
    epoch: new Date(0).getTime(),
    copied: new Date(new Date(86400000)).getTime(),
    fields: new Date(2026, 0, 2, 3, 4, 5).toISOString(),
    iso: new Date('2026-11-26T19:30:05Z').getTime(),
    invalid: String(new Date(undefined)),
    utc: Date.UTC(2026, 10, 26, 19, 30, 5),
    parsed: Date.parse('2026-11-26T19:30:05Z'),
    instanceOf: new Date() instanceof Date,
    arbitraryNotInstance: ({}) instanceof Date,
    stampInstanceOf: new Stamp() instanceof Date && new Stamp() instanceof Stamp,
    constructorIsDate: new Date().constructor === Date,
    prototypeIsDates: Object.getPrototypeOf(new Date()) === Date.prototype,
    tag: Object.prototype.toString.call(new Date()),
    typeOf: typeof Date,
    name: Date.name,
    length: Date.length,
    nowLength: Date.now.length,
  },
});
`;

describe('local Lambda execution environment: the cloud clock', () => {
  const DAY_MS = 86_400_000;
  const clockAssets = mkdtempSync(path.join(tmpdir(), 'civic-lambda-clock-'));
  writeFileSync(path.join(clockAssets, 'index.mjs'), CLOCK_HANDLER);
  const spec: FunctionSpec = {
    logicalId: 'clocked',
    functionName: 'clocked',
    arn: 'arn:aws:lambda:us-east-1:000000000000:function:clocked',
    assetDir: clockAssets,
    moduleFile: 'index.mjs',
    exportName: 'handler',
    environment: {},
    timeoutSeconds: 30,
    memorySize: 128,
    maximumRetryAttempts: 0,
  };
  const clock = new LocalClock();
  const environment = { baseEnvironment: { PATH: process.env.PATH ?? '' } };
  const clocked = new LambdaService([spec], { ...environment, clock });
  const unclocked = new LambdaService([spec], environment);
  afterAll(async () => {
    await Promise.all([clocked.stop(), unclocked.stop()]);
    rmSync(clockAssets, { recursive: true, force: true });
  });

  interface Reading {
    now: number;
    constructed: number;
    called: string;
    stamp: number;
    remainingMs: number;
    fixed: Record<string, unknown>;
  }
  /** Invokes the function, with the real time just before and just after. */
  const read = async (lambda: LambdaService) => {
    const before = Date.now();
    const reading = (await lambda.invoke('clocked', {})) as Reading;
    return { reading, before, after: Date.now() };
  };
  const expectShiftedBy = ({ reading, before, after }: Awaited<ReturnType<typeof read>>, offset: number) => {
    for (const instant of [reading.now, reading.constructed, reading.stamp]) {
      expect(instant).toBeGreaterThanOrEqual(before + offset);
      expect(instant).toBeLessThanOrEqual(after + offset);
    }
    // Date() renders whole seconds.
    const called = Date.parse(reading.called);
    expect(called).toBeGreaterThanOrEqual(Math.floor((before + offset) / 1000) * 1000);
    expect(called).toBeLessThanOrEqual(after + offset);
  };

  it('at offset 0 reads exactly as an environment without a clock does', async () => {
    const plain = await read(unclocked);
    const atZero = await read(clocked);

    expectShiftedBy(plain, 0);
    expectShiftedBy(atZero, 0);
    expect(atZero.reading.fixed).toEqual(plain.reading.fixed);
    expect(plain.reading.fixed).toEqual({
      epoch: 0,
      copied: 86_400_000,
      fields: '2026-01-02T03:04:05.000Z',
      iso: Date.parse('2026-11-26T19:30:05Z'),
      invalid: 'Invalid Date',
      utc: Date.UTC(2026, 10, 26, 19, 30, 5),
      parsed: Date.parse('2026-11-26T19:30:05Z'),
      instanceOf: true,
      arbitraryNotInstance: false,
      stampInstanceOf: true,
      constructorIsDate: true,
      prototypeIsDates: true,
      tag: '[object Date]',
      typeOf: 'function',
      name: 'Date',
      length: 7,
      nowLength: 0,
    });
  });

  it('after an advance, shifts new Date(), Date.now() and Date() in the running environment, and nothing else', async () => {
    const plain = await read(unclocked);

    clock.advance(15 * DAY_MS);
    const shifted = await read(clocked);

    expectShiftedBy(shifted, 15 * DAY_MS);
    expect(shifted.reading.fixed).toEqual(plain.reading.fixed);
    // The deadline is real: 30 s from the invocation, not 15 days ago.
    expect(shifted.reading.remainingMs).toBeGreaterThan(0);
    expect(shifted.reading.remainingMs).toBeLessThanOrEqual(30_000);
  });
});
