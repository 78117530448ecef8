/**
 * Registry benchmarks, in memory: importing a 5,000-unit roster through the API (target ≤ 10 s) and
 * reading a list page of 100 units (p50/p99).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FREE_PORTS, startLocalCloud } from '../local/cloud.js';
import { ms, percentile, printFigures, progress } from './support.js';

const roster = (units: number): string => {
  const lines = ['building,room,area,owner,idLast4,phone'];
  for (let i = 0; i < units; i++) {
    const building = 1 + Math.floor(i / 100);
    const room = `${1 + Math.floor((i % 100) / 4)}0${1 + (i % 4)}`;
    const owner = i % 10 === 9 ? i - 1 : i;
    lines.push(
      `${building},${room},${(60 + (i % 50) + (i % 100) / 100).toFixed(2)},业主${owner},${String(owner % 10000).padStart(4, '0')},138${String(owner).padStart(8, '0')}`,
    );
  }
  return lines.join('\n');
};

export const runRegistryBench = async (): Promise<void> => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'civic-bench-registry-'));
  const cloud = await startLocalCloud({ inMemory: true, dataDir, ports: FREE_PORTS, synth: 'auto' });
  try {
    const token = await cloud.token({ role: 'street-office', subDistrictId: 'sd-bench' });
    const call = (method: string, route: string, body?: string, type = 'application/json') =>
      fetch(`${cloud.endpoints.api}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': type } : {}) },
        body,
      });
    await call('POST', '/compounds', JSON.stringify({ compoundId: 'bench', name: 'bench' }));
    await call('POST', '/compounds/bench/areas', JSON.stringify({ areaId: 'first', name: 'first import' }));
    await call('POST', '/compounds/bench/areas', JSON.stringify({ areaId: 'second', name: 'second import' }));
    await call('POST', '/compounds/bench/areas', JSON.stringify({ areaId: 'big', name: '5000 units' }));
    const csv = roster(5_000);
    // The first import after start also pays for the function's cold start and DynamoDB Local's JIT.
    const coldStarted = performance.now();
    await call('POST', '/areas/first/roster', csv, 'text/csv');
    const coldMs = performance.now() - coldStarted;
    // DynamoDB Local's JVM reaches its steady speed after some ten thousand writes: one more warm-up.
    await call('POST', '/areas/second/roster', csv, 'text/csv');

    const started = performance.now();
    const response = await call('POST', '/areas/big/roster', csv, 'text/csv');
    const importMs = performance.now() - started;
    const result = (await response.json()) as {
      rows: number;
      ownerCount: number;
      units: { created: number };
    };
    if (response.status !== 200) throw new Error(`Import failed: ${JSON.stringify(result)}`);
    const again = performance.now();
    await call('POST', '/areas/big/roster', csv, 'text/csv');
    const reimportMs = performance.now() - again;

    const samples: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      const page = (await (
        await call('GET', `/areas/big/units?limit=100${cursor ? `&cursor=${cursor}` : ''}`)
      ).json()) as {
        items: unknown[];
        nextCursor?: string;
      };
      samples.push(performance.now() - t);
      cursor = page.nextCursor;
      if (i % 50 === 49) progress('list pages', i + 1, 200);
    }
    printFigures('Registry (issue 3) — in memory, this machine', [
      {
        name: 'roster import, 5,000 units, first after start',
        value: ms(coldMs),
        note: 'cold function, cold DynamoDB Local JIT',
      },
      {
        name: 'roster import, 5,000 units, steady state (third import)',
        value: ms(importMs),
        note: `${result.units.created} units + ${result.ownerCount} owners written; target ≤ 10 s`,
      },
      { name: 're-import of the same file (nothing written)', value: ms(reimportMs) },
      {
        name: 'list page of 100 units p50 / p99',
        value: `${ms(percentile(samples, 50))} / ${ms(percentile(samples, 99))}`,
        note: '200 pages',
      },
    ]);
  } finally {
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
};
