import { describe, expect, it } from 'vitest';
import { FaultInjector } from './faults.js';

const functions = [
  { functionName: 'CivicCell-ViolationsIngest1A6E0742-X1', logicalId: 'ViolationsIngest1A6E0742' },
  { functionName: 'CivicCell-violation-timers', logicalId: 'ViolationsTimers0F29B06E' },
  { functionName: 'CivicCell-meeting-timers', logicalId: 'MeetingsTimersF49CD3D7' },
];
const draws = (injector: FaultInjector, name: string, count: number) =>
  Array.from({ length: count }, () => injector.decide(name));

describe('fault injection', () => {
  it('names functions by name, logical id, or the end of the logical id without its hash', () => {
    const injector = new FaultInjector(functions);
    expect(injector.resolve('Ingest')).toEqual(['CivicCell-ViolationsIngest1A6E0742-X1']);
    expect(injector.resolve('ViolationsIngest1A6E0742')).toEqual(['CivicCell-ViolationsIngest1A6E0742-X1']);
    expect(injector.resolve('CivicCell-meeting-timers')).toEqual(['CivicCell-meeting-timers']);
    expect(injector.resolve('Timers')).toEqual(['CivicCell-violation-timers', 'CivicCell-meeting-timers']);
    expect(() => injector.resolve('Nothing')).toThrow(/names no function/);
    expect(() => injector.set('Ingest', 1.5)).toThrow(RangeError);
  });

  it('fails about the given share, the same ones for the same seed, and nothing once cleared', () => {
    const name = functions[0]?.functionName as string;
    const first = draws(new FaultInjector(functions, { Ingest: 0.05 }, 42), name, 10_000);
    const again = draws(new FaultInjector(functions, { Ingest: 0.05 }, 42), name, 10_000);
    const other = draws(new FaultInjector(functions, { Ingest: 0.05 }, 43), name, 10_000);
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    const failed = first.filter((decision) => decision !== undefined);
    expect(failed.length).toBeGreaterThan(400);
    expect(failed.length).toBeLessThan(600);
    // `either`: some before the handler, some after it.
    expect(new Set(failed)).toEqual(new Set(['before', 'after']));

    const injector = new FaultInjector(functions, { Ingest: { rate: 1, when: 'before' } }, 1);
    expect(new Set(draws(injector, name, 100))).toEqual(new Set(['before']));
    expect(injector.decide('CivicCell-violation-timers')).toBeUndefined();
    injector.set('Ingest', 0);
    expect(draws(injector, name, 100).every((decision) => decision === undefined)).toBe(true);
    expect(injector.describe()).toEqual([]);
  });
});
