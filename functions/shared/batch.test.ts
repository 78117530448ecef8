import * as path from 'node:path';
import { BatchGetRequest, BatchPutRequest, BatchWriteCommand, Entity, item, string } from 'dynamodb-toolbox';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureTables,
  type LocalDynamoDb,
  localCredentials,
  startDynamoDbLocal,
} from '../../local/dynamodb.js';
import { LOCAL_REGION, loadTemplate, readStack } from '../../local/template.js';

const CDK_OUT = path.join(import.meta.dirname, '..', '..', 'cdk.out');

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
  ddb = await startDynamoDbLocal({});
  // The table exactly as the synthesized stack declares it.
  const [spec] = readStack(loadTemplate(CDK_OUT, 'CivicCell'), {
    stackName: 'CivicCell',
    cdkOut: CDK_OUT,
    endpoints: { apiUrl: 'http://127.0.0.1:1' },
  }).tables;
  if (spec === undefined) throw new Error('The synthesized stack declares no table');
  await ensureTables(ddb.client, [spec]);
  Object.assign(process.env, {
    TABLE_NAME: spec.tableName,
    AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
  });
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
    const items = await batch.readBatch(
      keys.map((id) => Probe.build(BatchGetRequest).key({ id })),
      { consistent: true },
    );
    expect(items).toHaveLength(keys.length);
    items.forEach((found, index) => {
      const id = keys[index] as string;
      if (id.endsWith('-absent')) expect(found).toBeUndefined();
      else expect(found).toMatchObject({ id, blob: blobOf(id) });
    });
  });

  it('fails, rather than reading the unprocessed items as absent, when attempts run out', async () => {
    const requests = ids.map((id) => Probe.build(BatchGetRequest).key({ id }));
    const failure = await batch.readBatch(requests, { maxAttempts: 1 }).catch((error: Error) => error);
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
