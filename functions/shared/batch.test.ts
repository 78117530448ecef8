import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { BatchPutRequest, BatchWriteCommand, Entity, item, string } from 'dynamodb-toolbox';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { startCivicTable } from '../../test/support/civic-table.js';

// The civic table in a DynamoDB Local of its own; the modules under test read their configuration
// (table name, endpoint) at import, so they are imported once it exists.
let ddb: LocalDynamoDb;
let batch: typeof import('./batch.js');
let table: typeof import('./table.js').CivicTable;
let Probe: ReturnType<typeof probeEntity>;

const probeEntity = (table: typeof import('./table.js').CivicTable) =>
  new Entity({
    name: 'BatchProbe',
    table,
    schema: item({ id: string().key(), blob: string() }),
    computeKey: ({ id }) => ({ pk: `PROBE#${id}`, sk: 'PROBE' }),
  });

beforeAll(async () => {
  ddb = await startCivicTable();
  batch = await import('./batch.js');
  table = (await import('./table.js')).CivicTable;
  Probe = probeEntity(table);
}, 90_000);
afterAll(() => ddb?.stop());

// 45 items of 390 KB: one BatchGetItem response holds at most 16 MB (41 of them), so DynamoDB
// (and DynamoDB Local) leaves the rest unprocessed.
const BLOB = 390_000;
const ids = Array.from({ length: 45 }, (_, index) => `item-${String(index).padStart(2, '0')}`);
const blobOf = (id: string) => id.padEnd(BLOB, '.');

/** The marshalled table key of a probe (its computeKey), as BatchGetItem takes it. */
const keyOf = (id: string) => marshall({ pk: `PROBE#${id}`, sk: 'PROBE' });

const write = async (keys: string[]) => {
  for (let i = 0; i < keys.length; i += 25) {
    await batch.writeBatch(
      table
        .build(BatchWriteCommand)
        .requests(
          ...keys.slice(i, i + 25).map((id) => Probe.build(BatchPutRequest).item({ id, blob: blobOf(id) })),
        ),
    );
  }
};

describe('batch reads and writes', () => {
  it('reads every item in request order although one response cannot hold them all', async () => {
    await write(ids);
    // Requests interleave stored items with absent ones, which read as undefined in their places.
    const keys = ids.flatMap((id) => [id, `${id}-absent`]);
    const items = await batch.getItems(keys.map(keyOf), { consistent: true });
    expect(items).toHaveLength(keys.length);
    items.forEach((found, index) => {
      const id = keys[index] as string;
      if (id.endsWith('-absent')) expect(found).toBeUndefined();
      else expect(unmarshall(found ?? {})).toMatchObject({ id, blob: blobOf(id), entity: 'BatchProbe' });
    });
  });

  it('fails, rather than reading the unprocessed items as absent, when attempts run out', async () => {
    const failure = await batch.getItems(ids.map(keyOf), { maxAttempts: 1 }).catch((error: Error) => error);
    expect(failure).toBeInstanceOf(batch.UnprocessedBatchError);
    expect(failure).toMatchObject({ operation: 'BatchGetItem' });
    const { unprocessed } = failure as InstanceType<typeof batch.UnprocessedBatchError>;
    expect(unprocessed).toBeGreaterThan(0);
    expect(unprocessed).toBeLessThan(ids.length);
  });

  it('waits a jittered, growing, capped time before each resend', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          const wait = batch.backoffMs(attempt, () => r);
          const ceiling = Math.min(1_000, 25 * 2 ** attempt);
          expect(wait).toBeGreaterThanOrEqual(0);
          expect(wait).toBeLessThan(ceiling);
          expect(wait).toBe(Math.floor(r * ceiling));
        },
      ),
    );
  });
});
