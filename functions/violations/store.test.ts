import { marshall } from '@aws-sdk/util-dynamodb';
import { BatchPutRequest, GetItemCommand } from 'dynamodb-toolbox';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { startCivicTable } from '../../test/support/civic-table.js';
import { telemetrySchema } from './domain.js';
import type { IngestRecord } from './store.js';

// The ingest hot path writes and reads its items without dynamodb-toolbox (store.ts, `entityItem`):
// these tests hold those items to the toolbox's format, item for item and through the table.
let ddb: LocalDynamoDb;
let store: typeof import('./store.js');
let MARSHALL_OPTIONS: typeof import('../shared/clients.js').MARSHALL_OPTIONS;

beforeAll(async () => {
  ddb = await startCivicTable();
  store = await import('./store.js');
  ({ MARSHALL_OPTIONS } = await import('../shared/clients.js'));
}, 90_000);
afterAll(() => ddb?.stop());

const NOW = '2026-11-27T06:00:00.000Z';
const name = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,30}$/);
const time = fc
  .integer({ min: Date.parse('2020-01-01T00:00:00Z'), max: Date.parse('2030-01-01T00:00:00Z') })
  .map((at) => new Date(at).toISOString());
// Device fields as ingest accepts them: parsed from JSON (plain objects), and storable.
const fields = fc
  .dictionary(fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,15}$/), fc.jsonValue({ maxDepth: 3 }), {
    maxKeys: 6,
  })
  .map((value) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>)
  .filter((value) => telemetrySchema.safeParse(value).success);
const accepted = fc.record(
  {
    kind: fc.constant('accepted' as const),
    compoundId: name,
    thingName: name,
    signal: name,
    observedAt: time,
    receivedAt: time,
    seq: fc.nat(),
    fields,
  },
  { requiredKeys: ['kind', 'compoundId', 'thingName', 'signal', 'observedAt', 'receivedAt', 'fields'] },
);
const rejected = fc.record({
  kind: fc.constant('rejected' as const),
  compoundId: name,
  reason: fc.string({ minLength: 1, maxLength: 200 }),
  receivedAt: time,
});
const ingestRecord: fc.Arbitrary<IngestRecord> = fc.record({
  decision: fc.oneof(accepted, rejected),
  meta: fc.record({
    clientId: name,
    topic: name.map((thing) => `dt/civic/c/${thing}/s`),
    payloadBase64: fc.uint8Array({ maxLength: 5_000 }).map((bytes) => Buffer.from(bytes).toString('base64')),
  }),
});
const seen = fc.record(
  { thingName: name, scenarioId: name, lastObservedAt: time, lastSeq: fc.nat() },
  { requiredKeys: ['thingName', 'scenarioId', 'lastObservedAt'] },
);

/** The toolbox's item for `attributes`, with its timestamps set to NOW, marshalled as the DocumentClient does. */
const toolboxItem = (
  entity: { build(action: typeof BatchPutRequest): unknown },
  attributes: Record<string, unknown>,
) => {
  const request = entity.build(BatchPutRequest) as BatchPutRequest;
  const { PutRequest } = request.item(attributes as never).params() as {
    PutRequest: { Item: Record<string, unknown> };
  };
  for (const stamp of [PutRequest.Item._ct, PutRequest.Item._md])
    expect(stamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  return marshall({ ...PutRequest.Item, _ct: NOW, _md: NOW }, MARSHALL_OPTIONS);
};

describe('ingest items (the hot path, without the toolbox)', () => {
  it('are the toolbox items of their entities, attribute value for attribute value', () => {
    fc.assert(
      fc.property(ingestRecord, fc.stringMatching(/^[0-9a-f]{24}$/), (record, messageId) => {
        const item = store.ingestItem(record, messageId, NOW);
        const expiresAt = Number(item.expiresAt?.N);
        const { decision, meta } = record;
        if (decision.kind === 'accepted') {
          const { kind: _kind, ...telemetry } = decision;
          expect(item).toEqual(toolboxItem(store.TelemetryEntity, { ...telemetry, messageId, expiresAt }));
        } else {
          const payloadBase64 = Buffer.from(meta.payloadBase64, 'base64')
            .subarray(0, 4_096)
            .toString('base64');
          expect(item).toEqual(
            toolboxItem(store.RejectedTelemetryEntity, {
              compoundId: decision.compoundId,
              receivedAt: decision.receivedAt,
              messageId,
              clientId: meta.clientId,
              topic: meta.topic,
              reason: decision.reason,
              payloadBase64,
              expiresAt,
            }),
          );
        }
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(seen, (watermark) => {
        expect(store.seenItem(watermark, NOW)).toEqual(toolboxItem(store.SeenEntity, watermark));
      }),
    );
  });

  it('conditions and violations, written by hand too, are the toolbox items of their entities', () => {
    // A state as the engine keeps it: an optional field may be present and undefined.
    const state = fields.map((value) => ({ ...value, graceUntil: undefined }));
    fc.assert(
      fc.property(
        name,
        name,
        state,
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.option(time, { nil: undefined }),
        (thingName, scenarioId, conditionState, version, dueAt) => {
          expect(store.conditionItem(thingName, scenarioId, conditionState, version, dueAt, NOW)).toEqual(
            toolboxItem(store.ConditionEntity, {
              thingName,
              scenarioId,
              state: conditionState,
              version,
              ...(dueAt === undefined
                ? {}
                : { dueAt, dueList: 'ABSENCE-DUE', dueKey: `${dueAt}#${thingName}#${scenarioId}` }),
            }),
          );
        },
      ),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(
        fc.record({ violationId: name, subDistrictId: name, compoundId: name }),
        state,
        fc.array(state, { maxLength: 4 }),
        fc.integer({ min: 1, max: 1_000 }),
        time,
        (ids, violation, workOrders, version, updatedAt) => {
          expect(store.violationItem({ ...ids, violation, workOrders }, version, updatedAt, NOW)).toEqual(
            toolboxItem(store.ViolationEntity, {
              ...ids,
              violation,
              workOrders,
              version,
              listKey: `VIOLATIONS#${ids.subDistrictId}`,
              updatedKey: `${updatedAt}#${ids.violationId}`,
            }),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('write a condition or a violation only over the version read', async () => {
    const state = { status: 'idle', lastSeq: 1 };
    await store.putCondition('versioned-thing', 'fire-lane-occupied', state, 0);
    await expect(store.putCondition('versioned-thing', 'fire-lane-occupied', state, 0)).rejects.toThrow(
      store.StaleWriteError,
    );
    await store.putCondition('versioned-thing', 'fire-lane-occupied', { ...state, lastSeq: 2 }, 1, NOW);
    await expect(store.putCondition('versioned-thing', 'fire-lane-occupied', state, 1)).rejects.toThrow(
      store.StaleWriteError,
    );
    expect(await store.getCondition('versioned-thing', 'fire-lane-occupied')).toEqual({
      state: { ...state, lastSeq: 2 },
      version: 2,
      dueAt: NOW,
    });
    expect(await store.listDueAbsences(NOW, 10)).toContainEqual({
      thingName: 'versioned-thing',
      scenarioId: 'fire-lane-occupied',
    });

    const record = {
      violationId: 'versioned-violation',
      subDistrictId: 'sd-store',
      compoundId: 'c-store',
      violation: { status: 'dispatched' },
      workOrders: [{ workOrderId: 'versioned-violation.0' }],
    };
    await store.putViolation(record, 0, NOW);
    await expect(store.putViolation(record, 0, NOW)).rejects.toThrow(store.StaleWriteError);
    await store.putViolation({ ...record, violation: { status: 'acknowledged' } }, 1, NOW);
    await expect(store.putViolation(record, 1, NOW)).rejects.toThrow(store.StaleWriteError);
    expect(await store.getViolation('versioned-violation')).toMatchObject({
      ...record,
      violation: { status: 'acknowledged' },
      version: 2,
    });
    const listed = await store.listViolations('sd-store', { since: NOW, limit: 10 });
    expect(listed.items.map((item) => item.violationId)).toEqual(['versioned-violation']);
  });

  it('are read back through the toolbox as written', async () => {
    const records: IngestRecord[] = [
      {
        decision: {
          kind: 'accepted',
          compoundId: 'c-store',
          thingName: 'store-geomag-1',
          signal: 'occupancy',
          observedAt: '2026-11-27T05:00:00.000Z',
          receivedAt: '2026-11-27T05:00:00.120Z',
          seq: 7,
          fields: { occupied: true, battery: 97.5, note: '', tags: ['a', null], nested: { depth: { x: 1 } } },
        },
        meta: {
          clientId: 'store-geomag-1',
          topic: 'dt/civic/c-store/store-geomag-1/occupancy',
          payloadBase64: 'e30=',
        },
      },
      {
        decision: {
          kind: 'accepted',
          compoundId: 'c-store',
          thingName: 'store-geomag-1',
          signal: 'heartbeat',
          observedAt: '2026-11-27T05:00:01.000Z',
          receivedAt: '2026-11-27T05:00:01.050Z',
          fields: {},
        },
        meta: {
          clientId: 'store-geomag-1',
          topic: 'dt/civic/c-store/store-geomag-1/heartbeat',
          payloadBase64: 'e31=',
        },
      },
      {
        decision: {
          kind: 'rejected',
          compoundId: 'c-store',
          reason: 'unknown thing ghost: not in the device registry',
          receivedAt: '2026-11-27T05:00:02.000Z',
        },
        meta: { clientId: 'ghost', topic: 'dt/civic/c-store/ghost/occupancy', payloadBase64: 'bm90IGpzb24=' },
      },
    ];
    const watermark = {
      thingName: 'store-geomag-1',
      scenarioId: 'fire-lane-occupied',
      lastObservedAt: '2026-11-27T05:00:01.000Z',
      lastSeq: 8,
    };
    // The same message twice in one batch is written once (one request may not hold a key twice).
    await store.recordIngestBatch([...records, records[0] as IngestRecord], [watermark]);

    const telemetry = await store.listTelemetry('store-geomag-1', 10);
    expect(telemetry.items).toHaveLength(2);
    const [heartbeat, occupancy] = telemetry.items; // newest first
    for (const [read, record] of [
      [occupancy, records[0]],
      [heartbeat, records[1]],
    ] as const) {
      if (record?.decision.kind !== 'accepted') throw new Error('the first two records are accepted');
      const { kind: _kind, ...decision } = record.decision;
      expect(read).toMatchObject(decision);
      const { clientId, topic, payloadBase64 } = record.meta;
      expect(read?.messageId).toBe(store.messageIdOf(clientId, topic, payloadBase64));
    }
    expect(occupancy).toHaveProperty('seq', 7);
    expect(heartbeat).not.toHaveProperty('seq');

    const rejectedRead = await store.listRejectedTelemetry('c-store', 10);
    expect(rejectedRead.items).toEqual([
      expect.objectContaining({
        reason: 'unknown thing ghost: not in the device registry',
        clientId: 'ghost',
        topic: 'dt/civic/c-store/ghost/occupancy',
        payloadBase64: 'bm90IGpzb24=',
      }),
    ]);

    const { Item } = await store.SeenEntity.build(GetItemCommand).key(watermark).send();
    expect(Item).toMatchObject(watermark);
  });

  it('store whatever ingest accepts: DynamoDB takes every accepted message, and it reads back as sent', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(accepted, { minLength: 1, maxLength: 25 }), async (decisions) => {
        const records = decisions.map((decision, index) => ({
          decision: { ...decision, thingName: `prop-${index}-${decision.thingName}` },
          meta: { clientId: 'c', topic: 't', payloadBase64: Buffer.from(`${index}`).toString('base64') },
        }));
        await store.recordIngestBatch(records);
        for (const { decision } of records) {
          const { items } = await store.listTelemetry(decision.thingName, 100);
          const { kind: _kind, ...sent } = decision;
          expect(items).toContainEqual(expect.objectContaining(sent));
        }
      }),
      { numRuns: 15 },
    );
  });

  it('read conditions and watermarks as the toolbox wrote them, in any number', async () => {
    // 120 keys: three BatchGetItem requests with watermarks (50 keys each), two without.
    const keys = Array.from({ length: 120 }, (_, index) => ({
      thingName: `cond-thing-${index}`,
      scenarioId: index % 2 === 0 ? 'fire-lane-occupied' : 'elder-no-water',
    }));
    const written = keys.filter((_, index) => index % 3 !== 0);
    for (const [index, key] of written.entries()) {
      const state = { scenarioId: key.scenarioId, thingName: key.thingName, status: 'idle', lastSeq: index };
      await store.putCondition(key.thingName, key.scenarioId, state, 0, index % 2 === 0 ? NOW : undefined);
    }
    const watermarks = keys
      .filter((_, index) => index % 4 === 0)
      .map((key, index) => ({
        ...key,
        lastObservedAt: NOW,
        ...(index % 2 === 0 ? { lastSeq: index } : {}),
      }));
    await store.recordIngestBatch([], watermarks.slice(0, 25));
    await store.recordIngestBatch([], watermarks.slice(25));

    const withSeen = await store.getConditionsSeen(keys);
    const conditions = await store.getConditions(keys);
    expect(withSeen.size).toBe(keys.length);
    for (const key of keys) {
      const expected = await store.getCondition(key.thingName, key.scenarioId);
      const found = withSeen.get(store.conditionKey(key));
      expect(found?.stored).toEqual(expected);
      expect(conditions.get(store.conditionKey(key))).toEqual(expected);
      const watermark = watermarks.find(
        (candidate) => candidate.thingName === key.thingName && candidate.scenarioId === key.scenarioId,
      );
      expect(found?.seen).toEqual(watermark);
    }
    expect([...conditions.values()].filter((stored) => stored.dueAt === NOW)).toHaveLength(
      written.filter((_, index) => index % 2 === 0).length,
    );
  });
});
